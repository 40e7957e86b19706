import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * deploy/systemd as systemd itself reads it: `systemd-analyze verify` on the
 * shipped units (ExecStart pointed at this checkout's bin/scalelite, since
 * /opt/scalelite does not exist here), plus the hardening each unit promises.
 */

const root = join(__dirname, '..', '..', '..');
const dir = join(root, 'deploy', 'systemd');
const ROLES: Record<string, string> = {
  'scalelite-api.service': 'api',
  'scalelite-poller.service': 'poller',
  'scalelite-projector.service': 'projector',
  'scalelite-importer.service': 'importer',
  'scalelite.service': 'start',
};
const DATA = '/var/lib/scalelite';
const RECORDINGS = ['-/var/bigbluebutton', '-/mnt/scalelite-recordings'];

/** A unit's `Key=value` lines (last one wins, as in systemd for these keys). */
function keys(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** systemd-analyze verify's diagnostics for a set of unit files, checkout paths substituted. */
function verify(units: Record<string, string>): { status: number | null; diagnostics: string } {
  const tmp = mkdtempSync(join(tmpdir(), 'systemd-verify-'));
  try {
    for (const [name, text] of Object.entries(units)) {
      writeFileSync(
        join(tmp, name),
        text
          .replaceAll('/opt/scalelite/bin/scalelite', join(root, 'bin', 'scalelite'))
          .replaceAll('EnvironmentFile=/etc/default/scalelite', `EnvironmentFile=${join(dir, 'scalelite.default')}`),
      );
    }
    const res = spawnSync('systemd-analyze', ['verify', ...Object.keys(units).map((n) => join(tmp, n))], { encoding: 'utf8' });
    if (res.error) throw new Error(`systemd-analyze could not run (install Debian's systemd package): ${res.error.message}`);
    // Diagnostics about our files only (verify also reports on unrelated host units).
    const diagnostics = `${res.stdout}${res.stderr}`
      .split('\n')
      .filter((l) => l.includes(tmp))
      .join('\n');
    return { status: res.status, diagnostics };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const shipped = (): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((f) => /\.(service|target)$/.test(f))
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );

describe('deploy/systemd', () => {
  it('given the shipped units, when systemd-analyze verifies them, then it reports nothing', () => {
    const units = shipped();
    expect(Object.keys(units).sort()).toEqual([...Object.keys(ROLES), 'scalelite.target'].sort());
    expect(verify(units)).toEqual({ status: 0, diagnostics: '' });
  });

  it('given a misspelt key and a bad boolean, when verified, then both are reported (the check can fail)', () => {
    const units = shipped();
    units['scalelite-api.service'] = units['scalelite-api.service']!.replace('Type=simple', 'Tpye=simple').replace('NoNewPrivileges=yes', 'NoNewPrivileges=maybe');
    const { diagnostics } = verify(units);
    expect(diagnostics).toContain("Unknown key 'Tpye'");
    expect(diagnostics).toContain('Failed to parse boolean value');
  });

  it.each(Object.entries(ROLES))('given %s, then it runs its role hardened, writing only data and recording dirs', (file, role) => {
    const unit = keys(readFileSync(join(dir, file), 'utf8'));
    expect(unit.get('ExecStart')).toBe(`/opt/scalelite/bin/scalelite ${role}`);
    expect(unit.get('EnvironmentFile')).toBe('/etc/default/scalelite');
    for (const [k, v] of Object.entries({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      CapabilityBoundingSet: '',
    })) {
      expect([k, unit.get(k)]).toEqual([k, v]);
    }
    const writable = unit.get('ReadWritePaths')!.split(/\s+/);
    expect(writable[0]).toBe(DATA);
    expect(writable.slice(1).every((p) => RECORDINGS.includes(p))).toBe(true);
    expect(unit.get('WantedBy')).toBe(role === 'start' ? 'multi-user.target' : 'scalelite.target');
  });

  it.each(['scalelite-api.service', 'scalelite.service'])('given %s, then it has /run/scalelite for a BIND=unix:// socket, where nginx expects it', (file) => {
    const unit = keys(readFileSync(join(dir, file), 'utf8'));
    expect(unit.get('RuntimeDirectory')).toBe('scalelite');
    expect(unit.get('RuntimeDirectoryMode')).toBe('0750');
    expect(readFileSync(join(root, 'deploy', 'nginx', 'scalelite.conf'), 'utf8')).toContain('server unix:/run/scalelite/scalelite.sock;');
  });

  it('given the target, then it pulls in every production role and excludes the embedded single-host unit', () => {
    const target = keys(readFileSync(join(dir, 'scalelite.target'), 'utf8'));
    expect(target.get('Wants')!.split(/\s+/).sort()).toEqual(
      Object.keys(ROLES)
        .filter((f) => f !== 'scalelite.service')
        .sort(),
    );
    expect(target.get('Conflicts')).toBe('scalelite.service');
  });
});
