"""Our pipelines driven through the sidecar, as the extension drives them.

One fresh sidecar per phase: spawn -> handshake -> `studio/generate` N times (run 1 cold: models
load; run 2+ warm: models resident) -> read the sidecar's peak RSS and CPU time from /proc ->
shutdown. Everything is timed from the client's side, on message arrival.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

from benchmarks.common import CORE, ROOT, Workload, child_env, log
from benchmarks.sidecar_client import SidecarClient, proc_cpu_seconds, sidecar_command


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
    client = SidecarClient(sidecar_command(sys.executable, scratch, CORE), env, ROOT, out_dir / "sidecar.stderr.log")
    client.start()
    result: Dict[str, Any] = {"kind": f"sidecar-phase{phase}", "label": label, "env": extra_env or {}, "runs": []}
    try:
        t0 = time.perf_counter()
        hs = client.request("studio/handshake", {"protocolVersion": 1, "clientName": "benchmarks"}, timeout=120)
        result["spawn_to_handshake_s"] = time.perf_counter() - client.t_spawn
        result["handshake_rtt_s"] = time.perf_counter() - t0
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
            cpu0 = proc_cpu_seconds(client.pid)
            log(f"sidecar phase {phase}: generate run {i + 1}/{runs}")
            t_send = time.perf_counter()
            rid = client.send_request("studio/generate", request)
            msg = client.wait_response(rid, timeout)
            t_done = msg.t
            res = msg.body["result"]
            cpu = proc_cpu_seconds(client.pid)
            notes = client.notifications_for(res["runId"], after=t_send)
            progress = [m for m in notes if m.body["method"] == "studio/progress"]
            previews = [m for m in notes if m.body["method"] == "studio/preview"]
            denoise = [m for m in progress if m.body["params"].get("stage") == "denoising"]
            steps = res["timings"]["stepsS"]
            first_step_done = denoise[0].t - t_send if denoise else None
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
                "preview_bytes": sum(sum(len(f) for f in m.body["params"].get("frames", [])) for m in previews),
                "step_notice_gaps_s": [b.t - a.t for a, b in zip(denoise, denoise[1:])],
                "cpu_s": None if cpu is None or cpu0 is None else cpu - cpu0,
                "peak_rss_mb": _status_kb(client.pid, "VmHWM"),
                "outputs": res.get("outputs"),
                "metadata_path": res.get("metadataPath"),
            }
            result["runs"].append(run)
        result["rss_end_mb"] = _status_kb(client.pid, "VmRSS")
    finally:
        result["exit_code"] = client.close()
    return result
