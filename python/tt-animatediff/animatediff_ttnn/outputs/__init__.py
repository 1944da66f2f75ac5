"""Outputs: the GIF/MP4/WebP/PNG files (written all together or not at all), the metadata record beside them,
and the temporal-coherence figure in it. Lesson 06 (View and compare your outputs)."""
