"""Phase 1's motion UNet shares its weights with the SD UNet and the adapter (no ~5 GB copy) and
computes exactly what diffusers' copying `UNetMotionModel.from_unet2d` computes."""

import torch


def test_motion_unet_shares_weights_and_matches_diffusers(tiny_models):
    from diffusers import UNetMotionModel

    from animatediff_ttnn.models import load_motion_adapter, load_sd_components
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
