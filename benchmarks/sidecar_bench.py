"""Our pipelines driven through the sidecar, as the extension drives them.

One fresh sidecar per phase: spawn -> handshake -> `studio/generate` N times (run 1 cold: models
load; run 2+ warm: models resident) -> read the sidecar's peak RSS and CPU time from /proc ->
shutdown. Everything is timed from the client's side, on message arrival.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

from benchmarks.common import CORE, ROOT, Workload, child_env, cpu_seconds, log
from tests.sidecar.rpc_client import SidecarClient  # the one JSON-RPC client, shared with the tests


def _status_kb(pid: int, field: str) -> Optional[float]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _reset_peak(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def available() -> Optional[str]:
    """None when the sidecar package is there, else why not."""
    main = ROOT / "python" / "sidecar" / "animatediff_sidecar" / "__main__.py"
    return None if main.is_file() else f"{main.relative_to(ROOT)} does not exist yet"


def run_sidecar(w: Workload, phase: int, runs: int, out_dir: Path, threads: Optional[int],
                extra_env: Optional[Dict[str, str]] = None, label: str = "", timeout: float = 3600.0) -> Dict[str, Any]:
    out_dir = out_dir / f"sidecar-phase{phase}{'-' + label if label else ''}"
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-scratchpad-"))  # empty: the sidecar runs the bundle
    env = child_env(threads)
    env.update(extra_env or {})
    client = SidecarClient(["--scratchpad", str(scratch), "--bundle", str(CORE)], env=env, cwd=str(ROOT))
    result: Dict[str, Any] = {"kind": f"sidecar-phase{phase}", "label": label, "env": extra_env or {}, "runs": []}
    try:
        t0 = client.since_start()
        hs = client.request("studio/handshake", {"protocolVersion": 1, "clientName": "benchmarks"}, timeout=120)
        result["spawn_to_handshake_s"] = client.since_start()
        result["handshake_rtt_s"] = client.since_start() - t0
        result["pipeline_source"] = hs.get("pipelineSource")
        result["rss_idle_mb"] = _status_kb(client.pid, "VmRSS")
        for i in range(runs):
            request: Dict[str, Any] = {
                "phase": phase,
                "device": "cpu",
                "models": {"sd": w.sd, **({"motionAdapter": w.motion_adapter} if phase == 1 else {})},
                "params": w.wire_params(),
                "outputDir": str(out_dir),
            }
            if phase == 2:
                request["backend"] = "torch"
            _reset_peak(client.pid)
            cpu0 = cpu_seconds(str(client.pid))
            log(f"sidecar phase {phase}: generate run {i + 1}/{runs}")
            t_send = client.since_start()
            msg = client.wait_message(client.send("studio/generate", request), timeout)
            t_done = msg["_t"]
            res = msg["result"]
            cpu = cpu_seconds(str(client.pid))
            notes = [n for n in client.notifications
                     if n["_t"] >= t_send and (n.get("params") or {}).get("runId") in (None, res["runId"])]
            progress = [m for m in notes if m["method"] == "studio/progress"]
            previews = [m for m in notes if m["method"] == "studio/preview"]
            denoise = [m for m in progress if m["params"].get("stage") == "denoising"]
            steps = res["timings"]["stepsS"]
            first_step_done = denoise[0]["_t"] - t_send if denoise else None
            run = {
                "run_id": res["runId"],
                "status": res["status"],
                "models_reloaded": res.get("modelsReloaded"),
                "reloaded_modules": res.get("reloadedModules"),
                "time_to_gif_s": t_done - t_send,
                "sidecar_timings": res["timings"],
                # generate sent -> first denoising step began, from the client's side
                "to_first_step_s": (first_step_done - steps[0]) if first_step_done is not None and steps else None,
                "first_step_done_s": first_step_done,
                "progress_notes": len(progress),
                "preview_notes": len(previews),
                "preview_bytes": sum(sum(len(f) for f in m["params"].get("frames", [])) for m in previews),
                "step_notice_gaps_s": [b["_t"] - a["_t"] for a, b in zip(denoise, denoise[1:])],
                "cpu_s": None if cpu is None or cpu0 is None else cpu - cpu0,
                "peak_rss_mb": _status_kb(client.pid, "VmHWM"),
                "outputs": res.get("outputs"),
                "metadata_path": res.get("metadataPath"),
            }
            result["runs"].append(run)
        result["rss_end_mb"] = _status_kb(client.pid, "VmRSS")
    finally:
        result["exit_code"] = client.close(timeout=60)
        (out_dir / "sidecar.stderr.log").write_text("\n".join(client.stderr_lines) + "\n", encoding="utf-8")
    return result
