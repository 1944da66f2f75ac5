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

function hexToAddr(hex, v6) {
  if (!v6) return hex.match(/../g).reverse().map((b) => parseInt(b, 16)).join('.');
  if (hex === '00000000000000000000000001000000') return '::1';
  if (/^0{32}$/.test(hex)) return '::';
  if (hex.startsWith('0000000000000000FFFF0000')) return `::ffff:${hexToAddr(hex.slice(24), false)}`;
  return hex;
}

/** TCP sockets in LISTEN state held by rootPid or its descendants, as [{addr, port, pid}]. */
export function listeningSockets(rootPid) {
  const pids = [rootPid, ...descendants(rootPid).map((p) => p.pid)];
  const owner = new Map();
  for (const pid of pids) {
    let fds = [];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) owner.set(m[1], pid);
      } catch { /* closed meanwhile */ }
    }
  }
  const out = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]]) {
    let lines = [];
    try { lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1); } catch { continue; }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      const [addrHex, portHex] = f[1].split(':');
      if (f[3] !== '0A' || !owner.has(f[9])) continue;
      out.push({ addr: hexToAddr(addrHex, v6), port: parseInt(portHex, 16), pid: owner.get(f[9]) });
    }
  }
  return out;
}

export const isLoopback = (addr) => addr === '::1' || /^127\./.test(addr) || /^::ffff:127\./.test(addr);
