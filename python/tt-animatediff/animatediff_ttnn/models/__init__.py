"""Models: where they come from (hub ids, files to fetch, the cache), how they are loaded, the presets'
motion modules and samplers, original AnimateDiff checkpoints. Lessons 03 (Download the models) and 04 (Phase 1's presets)."""
