"""Backends: the hardware behind the UNet and VAE seams - torch on any device, tt-metal's TTNN on a Blackhole card -
which one a run uses, tt-metal discovery, and the card validation checks. Lessons 05 (Phase 2) and 09 (Phase 3)."""
