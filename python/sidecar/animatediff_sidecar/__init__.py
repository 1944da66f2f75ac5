"""JSON-RPC sidecar of the AnimateDiff lesson studio: the VS Code extension spawns
`python -m animatediff_sidecar` and drives generation through it (docs/protocol.md)."""

__version__ = "0.1.0"
