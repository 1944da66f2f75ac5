"""AnimateDiff, the lesson: a text prompt to a short animation with Stable Diffusion 1.4 and a motion module.

The files at this level are the lesson; open them first.
    pipeline.py          Phase 1: diffusers' AnimateDiff, all frames denoised together
    ttnn_pipeline.py     Phase 2: tt-metal's TTNN SD UNet, one frame at a time (or the same loop in torch)
    motion_pipeline.py   Phase 3: AnimateDiff again, with the UNet run as a frame loop
    temporal_module.py   one motion module, written plainly in PyTorch
    motion_unet.py       the frame loop: SD's layers frame by frame, the motion modules across frames
    ttnn_temporal.py     the motion module ported to TTNN ops
    ttnn_motion_unet.py  the frame loop over tt-metal's UNet blocks and the TTNN motion modules
    params.py            every generation parameter, defined once
    cli.py, download.py  what the examples and `python -m animatediff_ttnn.download` run
    studio_api.py        the only module the VS Code studio calls
The machinery is one folder down: backends/, creative/, models/, runtime/, outputs/ (each __init__.py says what).
"""

__version__ = "0.2.0"
