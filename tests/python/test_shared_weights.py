"""Phase 1's motion UNet shares its weights with the SD UNet and the adapter (no ~5 GB copy) and
computes exactly what diffusers' copying `UNetMotionModel.from_unet2d` computes."""

import torch


def test_motion_unet_shares_weights_and_matches_diffusers(tiny_models, monkeypatch):
    from diffusers import UNetMotionModel

    monkeypatch.setenv("ANIMATEDIFF_ONEDNN_LINEAR", "0")  # bit-exact comparison: the same BLAS as diffusers
    from animatediff_ttnn.models.loading import load_motion_adapter, load_sd_components
    from animatediff_ttnn.pipeline import unet_with_motion

    sd = load_sd_components(tiny_models["sd"])
    adapter = load_motion_adapter(tiny_models["motion_adapter"])
    reference = UNetMotionModel.from_unet2d(sd.unet, adapter).eval()
    shared = unet_with_motion(sd, adapter)

    ref_state, state = reference.state_dict(), shared.state_dict()
    assert ref_state.keys() == state.keys()
    assert all(torch.equal(ref_state[k], state[k]) for k in ref_state)
    assert not any(t.is_meta for t in [*shared.parameters(), *shared.buffers()])
    assert shared.conv_in.weight.data_ptr() == sd.unet.conv_in.weight.data_ptr()
    motion = shared.down_blocks[0].motion_modules[0].proj_in.weight
    assert motion.data_ptr() == adapter.down_blocks[0].motion_modules[0].proj_in.weight.data_ptr()
    assert unet_with_motion(sd, adapter) is shared  # built once per (SD, adapter)

    sample = torch.randn(2, 4, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    embeds = torch.randn(8, 77, sd.text_encoder.config.hidden_size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(sample, 10, encoder_hidden_states=embeds).sample
        got = shared(sample, 10, encoder_hidden_states=embeds).sample
    assert torch.equal(expected, got)


def test_onednn_linear_switch_keeps_weights_and_results(tiny_models, monkeypatch):
    from animatediff_ttnn.runtime.cpu_speedups import OneDNNLinear, use_onednn_linear
    from animatediff_ttnn.models.loading import load_sd_components

    unet = load_sd_components(tiny_models["sd"]).unet
    before = {k: v.clone() for k, v in unet.state_dict().items()}
    sample = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    embeds = torch.randn(2, 77, unet.config.cross_attention_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = unet(sample, 10, encoder_hidden_states=embeds).sample

    monkeypatch.setenv("ANIMATEDIFF_ONEDNN_LINEAR", "0")
    assert use_onednn_linear(unet) == 0
    monkeypatch.setenv("ANIMATEDIFF_ONEDNN_LINEAR", "1")
    linears = sum(isinstance(m, torch.nn.Linear) for m in unet.modules())
    switched = use_onednn_linear(unet)
    if switched == 0:  # this PyTorch has no oneDNN linear op: nothing to check
        return
    assert switched == linears and all(type(m) is OneDNNLinear for m in unet.modules() if isinstance(m, torch.nn.Linear))
    assert use_onednn_linear(unet) == 0  # idempotent
    assert unet.state_dict().keys() == before.keys()
    assert all(torch.equal(v, before[k]) for k, v in unet.state_dict().items())
    with torch.no_grad():
        got = unet(sample, 10, encoder_hidden_states=embeds).sample
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)  # fp32 rounding only
    x = torch.randn(3, unet.conv_in.out_channels, requires_grad=True)  # autograd: plain F.linear path
    layer = next(m for m in unet.modules() if isinstance(m, OneDNNLinear) and m.in_features == x.shape[1])
    layer(x).sum().backward()
    assert x.grad is not None


def test_onednn_linear_goes_where_it_was_measured_faster():
    """runtime/cpu_speedups.py's docstring: AMD AVX-512 (~2x on linear layers) and AMD AVX2 (~5% of a UNet
    call, benchmarks/unet-candidates-latest.json); MKL stays on Intel and on CPUs whose vendor is unknown."""
    from animatediff_ttnn.runtime.cpu_speedups import onednn_linear_pays

    assert onednn_linear_pays("AVX512", "AuthenticAMD") and onednn_linear_pays("AVX2", "AuthenticAMD")
    assert not onednn_linear_pays("AVX512", "GenuineIntel") and not onednn_linear_pays("AVX2", "")
    assert not onednn_linear_pays("DEFAULT", "AuthenticAMD")
