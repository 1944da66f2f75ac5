"""What every benchmark worker shares: the workloads, the machine, memory and CPU-time readings.

Each figure is measured in its own child process (so peak resident memory is that job's alone);
a worker prints one line `BENCH_RESULT {json}` on stdout and the orchestrator (run.py) collects it.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "python" / "tt-animatediff"
SIDECAR = ROOT / "python" / "sidecar"
CACHE = ROOT / ".cache" / "bench-models"
RESULT_PREFIX = "BENCH_RESULT "


@dataclass
class Workload:
    """One generation job, the same for the baseline, our pipelines and the profile."""

    mode: str  # "full" or "quick"
    sd: str
    motion_adapter: str
    prompt: str = "a red fox running through snow, cinematic"
    negative_prompt: str = "blurry"
    num_frames: int = 8
    width: int = 256
    height: int = 256
    steps: int = 3
    guidance_scale: float = 7.5
    seed: int = 42
    fps: int = 8

    def params(self) -> Dict[str, Any]:
        """Keyword arguments for animatediff_ttnn.params.GenerationParams."""
        return dict(prompt=self.prompt, negative_prompt=self.negative_prompt, num_frames=self.num_frames,
                    steps=self.steps, guidance_scale=self.guidance_scale, seed=self.seed, width=self.width,
                    height=self.height, fps=self.fps, formats=("gif",))

    def wire_params(self) -> Dict[str, Any]:
        """The same job as sidecar `GenerateParams.params` (camelCase)."""
        return {"prompt": self.prompt, "negativePrompt": self.negative_prompt, "numFrames": self.num_frames,
                "steps": self.steps, "guidanceScale": self.guidance_scale, "seed": self.seed,
                "width": self.width, "height": self.height, "fps": self.fps, "formats": ["gif"]}

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Workload":
        return cls(**json.loads(text))


def workload(mode: str, models_dir: Optional[Path] = None, steps: int = 3) -> Workload:
    if mode == "full":
        base = Path(models_dir or CACHE / "full")
        return Workload("full", str(base / "sd"), str(base / "motion-adapter"), steps=steps)
    base = Path(models_dir or CACHE / "tiny")
    # tiny models: 8x8 latents are their native size
    return Workload("quick", str(base / "sd"), str(base / "motion-adapter"), width=64, height=64, steps=steps)


def ensure_models(w: Workload) -> Dict[str, Any]:
    """Build the random-weight models once (reused by later runs); returns what was done."""
    sd, adapter = Path(w.sd), Path(w.motion_adapter)
    needed = [sd / "model_index.json", sd / "unet" / "diffusion_pytorch_model.safetensors",
              sd / "vae" / "diffusion_pytorch_model.safetensors", sd / "text_encoder" / "model.safetensors",
              adapter / "config.json", adapter / "diffusion_pytorch_model.safetensors"]
    if all(p.is_file() for p in needed):
        return {"built": False, "path": str(sd.parent)}
    out = Path(w.sd).parent
    args = [sys.executable, "-m", "animatediff_testing.tiny_models", str(out)] + (["--full-size"] if w.mode == "full" else [])
    print(f"[bench] building {'full-size' if w.mode == 'full' else 'tiny'} random-weight models into {out} "
          f"(once; {'several minutes, ~6 GB' if w.mode == 'full' else 'seconds'})", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    subprocess.run(args, check=True, env=child_env(), stdout=subprocess.DEVNULL)
    return {"built": True, "path": str(out), "seconds": round(time.perf_counter() - t0, 1)}


def child_env(threads: Optional[int] = None) -> Dict[str, str]:
    """Environment for every child: offline, the same thread count, our packages importable."""
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
        env["MKL_NUM_THREADS"] = str(threads)
    paths = [str(ROOT), str(CORE), str(SIDECAR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


# --- memory and CPU time -------------------------------------------------------------------------


def _status_kb(field: str, pid: str = "self") -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb(pid: str = "self") -> Optional[float]:
    kb = _status_kb("VmRSS", pid)
    return None if kb is None else round(kb / 1024, 1)


def peak_rss_mb(pid: str = "self") -> Optional[float]:
    """Peak resident memory (VmHWM) of a process; falls back to ru_maxrss for this process."""
    kb = _status_kb("VmHWM", pid)
    if kb is None and pid == "self":
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return None if kb is None else round(kb / 1024, 1)


def reset_peak_rss() -> bool:
    """Linux >= 4.0: make VmHWM start again from the current RSS (to measure one stage's peak)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def cpu_seconds(pid: str = "self") -> Optional[float]:
    """User + system CPU seconds a process has used (all its threads)."""
    if pid == "self":
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


# --- the machine ---------------------------------------------------------------------------------


def machine() -> Dict[str, Any]:
    import torch

    from animatediff_ttnn.runtime.device import cpu_model

    info = {
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    try:
        import diffusers

        info["diffusers"] = diffusers.__version__
    except ImportError:
        pass
    return info


def git_revision() -> Dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    # dirty = tracked code changed (untracked files such as a previous run's latest.json do not count)
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "python", "benchmarks", "scripts"))}


# --- worker plumbing -----------------------------------------------------------------------------


def emit(result: Dict[str, Any]) -> None:
    """A worker's answer: one line on stdout that the orchestrator picks out."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def run_worker(module: str, args: List[str], threads: Optional[int], timeout: Optional[float] = None,
               env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Run `python -m benchmarks.<module> args...` in a fresh process (`env` added to its environment);
    its stderr goes to ours."""
    cmd = [sys.executable, "-m", f"benchmarks.{module}", *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env={**child_env(threads), **(env or {})}, stdout=subprocess.PIPE, text=True,
                          timeout=timeout)
    wall = time.perf_counter() - t0
    results = [json.loads(line[len(RESULT_PREFIX):]) for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not results:
        tail = "\n".join(proc.stdout.splitlines()[-20:])
        raise RuntimeError(f"benchmarks.{module} failed (exit {proc.returncode}):\n{tail}")
    out = results[-1]
    out.setdefault("process_wall_s", round(wall, 3))
    return out


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- how busy the rest of the machine is -----------------------------------------------------------


class LoadMonitor:
    """Samples, once a second, how many CPUs processes *other than this benchmark* keep busy.

    ours = this process + its reaped children (getrusage) + its living descendants (/proc), so a
    child's CPU time is counted continuously whether it is still running or already waited for.
    others = (machine busy time - ours) / wall time, in CPUs (2.0 = both cores of a 2-core machine).
    """

    def __init__(self, interval: float = 1.0):
        import threading

        self.interval = interval
        self.samples: List[tuple] = []  # (t, machine_busy_s, ours_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="load-monitor", daemon=True)
        self._tck = os.sysconf("SC_CLK_TCK")

    def start(self) -> "LoadMonitor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _machine_busy(self) -> float:
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v[:8]) - v[3] - v[4]) / self._tck  # user..steal minus idle, iowait

    def _ours(self) -> float:
        me = os.getpid()
        parents: Dict[int, int] = {}
        times: Dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            times[int(entry)] = (int(fields[11]) + int(fields[12])) / self._tck
        total = 0.0
        for pid, t in times.items():
            p, seen = pid, 0
            while p and p != me and seen < 64:
                p, seen = parents.get(p, 0), seen + 1
            if p == me and pid != me:
                total += t
        r_self, r_children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return total + r_self.ru_utime + r_self.ru_stime + r_children.ru_utime + r_children.ru_stime

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.perf_counter(), self._machine_busy(), self._ours()))
            except OSError:
                pass
            self._stop.wait(self.interval)

    def others(self, t0: float, t1: float) -> Optional[float]:
        """Mean CPUs used by other processes between t0 and t1 (None if too few samples)."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return None
        (ta, ma, oa), (tb, mb, ob) = inside[0], inside[-1]
        return round(max(0.0, ((mb - ma) - (ob - oa)) / (tb - ta)), 2)

    def now_others(self, window: float = 3.0) -> Optional[float]:
        t = time.perf_counter()
        return self.others(t - window, t)

    def wait_quiet(self, limit_s: float, below: float = 0.2, window: float = 2.0) -> Optional[float]:
        """Wait (up to limit_s) until other processes used < `below` CPUs over the last `window` s."""
        deadline = time.perf_counter() + limit_s
        while True:
            busy = self.now_others(window)
            if limit_s <= 0 or (busy is not None and busy < below) or time.perf_counter() >= deadline:
                return busy
            time.sleep(0.5)
