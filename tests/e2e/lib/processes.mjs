// Find processes under a given root process (ours only) by their command line, from /proc.
import fs from 'node:fs';

function readProc(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...; comm may contain spaces and parentheses
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid: Number(pid), ppid: Number(rest[1]), state: rest[0], args };
  } catch { return null; }
}

export function allProcesses() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(readProc).filter(Boolean);
}

/** Processes descended from rootPid whose command line matches re (zombies left out). */
export function descendants(rootPid, re) {
  const procs = allProcesses();
  const children = new Map();
  for (const p of procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p);
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    for (const c of children.get(pid) || []) {
      stack.push(c.pid);
      if (c.state !== 'Z' && (!re || re.test(c.args.join(' ')))) out.push(c);
    }
  }
  return out;
}

export function alive(pid) {
  const p = readProc(pid);
  return !!p && p.state !== 'Z';
}
