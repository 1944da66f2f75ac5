"""Creative controls of Phases 1 and 3: context windows for long clips (FreeNoise), prompt travel, motion
LoRAs (camera moves) and motion scale, checked once and applied around one run. Lesson 10 (Longer and directed)."""
