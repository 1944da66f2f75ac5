"""Runtime: device and dtype, CPU speed-ups and memory, the progress callbacks and cancel token, the bookkeeping
around each denoising step, live previews. Lessons 04 (Phase 1 on a CPU) and 07 (where step_hooks.py fits)."""
