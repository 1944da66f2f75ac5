"""Stand-ins for tt-metal's TTNN SD 1.4 block objects, backed by diffusers' blocks, for checking
TtMotionUNet's orchestration on a CPU.

Each has the class name, constructor `(device, parameters, batch_size, input_height, input_width,
compute_kernel_config)`, attributes (`resnets`, `attentions`, `downsample_2d`, `upsample_2d`,
`output_height`, `output_width`, a resnet's `parameters`) and `__call__` keywords of its tt-metal
counterpart at ttnn_motion_unet.TT_METAL_COMMIT, and takes/returns tt-metal's inter-block layout
[1, 1, B*H*W, C] (torch here). Here `parameters` is the diffusers block. Each call also checks the
channel counts it is given against its diffusers block, so a wrong keyword fails loudly.
"""

from __future__ import annotations

from typing import Optional

import torch


def to_nchw(x: torch.Tensor, batch: int, height: int, width: int) -> torch.Tensor:
    return x.reshape(batch, height, width, -1).permute(0, 3, 1, 2)


def to_rows(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(1, 1, b * h * w, c)


class _Layer:
    def __init__(self, device, parameters, batch_size, input_height, input_width, compute_kernel_config=None):
        self.device, self.module, self.batch_size = device, parameters, batch_size
        self.input_height, self.input_width = input_height, input_width
        self.output_height, self.output_width = input_height, input_width
        self.parameters = {name: child for name, child in parameters.named_children()}

    def _nchw(self, x):
        return to_nchw(x, self.batch_size, self.input_height, self.input_width)


class resnetBlock2D(_Layer):  # noqa: N801 - tt-metal's class name
    def __call__(
        self, input_tensor, *, temb, in_channels, temb_channels=1280, groups: int = 32,
        time_embedding_norm: str = "default", output_scale_factor: float = 1.0, out_channels: Optional[int] = None,
        non_linearity="silu", pre_norm=True, eps=1e-5, up=False, down=False,
        use_in_shortcut: Optional[bool] = None, dtype=None, index=-1,
    ):
        m = self.module
        assert (in_channels, out_channels) == (m.in_channels, m.out_channels), (in_channels, out_channels)
        assert use_in_shortcut in (None, m.conv_shortcut is not None) and groups == m.norm1.num_groups
        assert temb_channels == m.time_emb_proj.in_features and time_embedding_norm == "default"
        return to_rows(m(self._nchw(input_tensor), temb))


class transformer_2d_model(_Layer):  # noqa: N801
    def __call__(
        self, hidden_states, config, encoder_hidden_states=None, timestep=None, class_labels=None,
        cross_attention_kwargs=None, return_dict=True, num_attention_heads=16, attention_head_dim=None,
        in_channels=None, out_channels=None, num_layers=1, norm_num_groups=32, cross_attention_dim=None,
        attention_bias=False, num_vector_embeds=None, patch_size=None, num_embeds_ada_norm=None,
        use_linear_projection=False, only_cross_attention=False, upcast_attention=False,
        norm_type="layer_norm", eps=1e-5, norm_elementwise_affine: bool = True, output_bfloat16: bool = False,
    ):
        m = self.module
        assert in_channels == m.in_channels and config is not None
        block = m.transformer_blocks[0]
        assert attention_head_dim * block.attn1.heads == in_channels, (attention_head_dim, in_channels)
        assert cross_attention_dim == block.attn2.cross_attention_dim
        out = m(self._nchw(hidden_states), encoder_hidden_states=encoder_hidden_states, return_dict=False)[0]
        return to_rows(out)


class downsample_2d(_Layer):  # noqa: N801
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_height, self.output_width = self.input_height // 2, self.input_width // 2

    def __call__(self, in_channels, out_channels, hidden_states, padding=1, use_conv=False):
        assert in_channels == out_channels == self.module.channels and use_conv and padding == 1
        return to_rows(self.module(self._nchw(hidden_states)))


class upsample2d(_Layer):  # noqa: N801
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_height, self.output_width = self.input_height * 2, self.input_width * 2

    def __call__(self, input, in_channels, out_channels):  # noqa: A002 - tt-metal's parameter name
        assert out_channels == self.module.channels
        return to_rows(self.module(self._nchw(input)))


class _Block:
    def __init__(self, device, parameters, batch_size, input_height, input_width, compute_kernel_config=None):
        args = (device, batch_size, input_height, input_width, compute_kernel_config)
        self.device, self.parameters = device, parameters
        self.resnets = [resnetBlock2D(device, r, *args[1:]) for r in parameters.resnets]
        if getattr(parameters, "attentions", None) is not None:
            self.attentions = [transformer_2d_model(device, a, *args[1:]) for a in parameters.attentions]
        self.output_height, self.output_width = input_height, input_width


class cross_attention_down_block_2d(_Block):  # noqa: N801
    def __init__(self, device, parameters, batch_size, input_height, input_width, compute_kernel_config):
        super().__init__(device, parameters, batch_size, input_height, input_width, compute_kernel_config)
        self.downsample_2d = downsample_2d(
            device, parameters.downsamplers[0], batch_size, input_height, input_width, compute_kernel_config
        )
        self.output_height, self.output_width = self.downsample_2d.output_height, self.downsample_2d.output_width


class downblock2d(_Block):  # noqa: N801 - no downsample_2d attribute, as in tt-metal
    pass


class unet_mid_block_2d_cross_attn(_Block):  # noqa: N801
    pass


class _UpBlock(_Block):
    def __init__(self, device, parameters, batch_size, input_height, input_width, compute_kernel_config):
        super().__init__(device, parameters, batch_size, input_height, input_width, compute_kernel_config)
        if parameters.upsamplers is not None:
            self.upsample_2d = upsample2d(
                device, parameters.upsamplers[0], batch_size, input_height, input_width, compute_kernel_config
            )
            self.output_height, self.output_width = self.upsample_2d.output_height, self.upsample_2d.output_width


class cross_attention_upblock2d(_UpBlock):  # noqa: N801
    pass


class upblock_2d(_UpBlock):  # noqa: N801
    pass


class UNet2DConditionModel:
    """The attributes TtMotionUNet reads of tt-metal's UNet: down_blocks, mid_block, up_blocks."""

    def __init__(self, device, unet, batch_size, input_height, input_width):
        types = {
            "CrossAttnDownBlock2D": cross_attention_down_block_2d, "DownBlock2D": downblock2d,
            "CrossAttnUpBlock2D": cross_attention_upblock2d, "UpBlock2D": upblock_2d,
        }
        h, w = input_height, input_width
        self.down_blocks = []
        for block in unet.down_blocks:
            self.down_blocks.append(types[type(block).__name__](device, block, batch_size, h, w, None))
            h, w = self.down_blocks[-1].output_height, self.down_blocks[-1].output_width
        self.mid_block = unet_mid_block_2d_cross_attn(device, unet.mid_block, batch_size, h, w, None)
        self.up_blocks = []
        for block in unet.up_blocks:
            self.up_blocks.append(types[type(block).__name__](device, block, batch_size, h, w, None))
            h, w = self.up_blocks[-1].output_height, self.up_blocks[-1].output_width
