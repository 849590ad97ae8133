// The systemd units of docs/operations.md, taken verbatim from the page, under a real systemd 254 (a
// machine booted by test/engines/systemd.sh, see test/helpers/systemd.mjs): start, requests over curl,
// reload under load with no failed request, stop with a request in flight, the watchdog, socket
// activation, who runs as which user, and the priorities of tsdaemon's lines in the journal.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { docBlocks } from '../helpers/docs.mjs';
import { until } from '../helpers/engines.mjs';
import { machineForFile, reloadUnderLoad, stopDrains } from '../helpers/systemd.mjs';
import { fixture, sleep } from '../helpers/tsdaemon.mjs';

const DOC = 'docs/operations.md';
const unit = (heading) => docBlocks(DOC, heading, 'ini');
const UNITS = {
  notifyReload: unit('### Notify-reload (`Type=notify-reload`, systemd 253 and later)')[0],
  notify: unit('### Notify (`Type=notify`)')[0],
  exec: unit('### Foreground (`Type=exec`)')[0],
  forking: unit('### Classic forking (`Type=forking`, `--daemon`)')[0],
  socketPair: unit('### Socket activation (`app.socket` + `app.service`)'),
};

const { machine, unavailable } = await machineForFile('test/engines/systemd.test.mjs');

const WWW_DATA = 33;
/**
 * Every unit under its own name, read by systemd once (a daemon-reload takes a second): the socket pair as
 * app.socket + app.service, as the doc names them; the others, which the doc also calls app.service, as
 * app-TYPE.service. The watchdog's copy gets a drop-in that only shortens WatchdogSec= (30 s in the doc).
 */
const FILES = {
  'app-notify-reload.service': UNITS.notifyReload,
  'app-notify.service': UNITS.notify,
  'app-exec.service': UNITS.exec,
  'app-forking.service': UNITS.forking,
  'app-watchdog.service': UNITS.notifyReload,
  'app-watchdog.service.d/watchdog.conf': '[Service]\nWatchdogSec=2\n',
  'app.socket': UNITS.socketPair[0],
  'app.service': UNITS.socketPair[1],
};

/** After the test: stop name (and the socket), forget its failures, remove the app's switches. */
function cleanupAfter(t, ...names) {
  t.after(async () => {
    await machine.exec(['systemctl', 'stop', ...names]);
    await machine.exec(['systemctl', 'reset-failed', ...names]);
    machine.removeFile('/srv/app/start-delay-ms');
    machine.removeFile('/srv/app/fail');
  });
}

describe('systemd 254: the units of docs/operations.md, verbatim', { skip: unavailable }, () => {
  before(async () => {
    machine.installTsdaemon();
    machine.writeFile('/srv/app/app.js', readFileSync(fixture('systemd-app.js')));
    for (const [name, text] of Object.entries(FILES)) machine.writeFile(`/etc/systemd/system/${name}`, text);
    await machine.systemctl('daemon-reload');
  });

  it('Type=notify-reload: start waits for the app; reload returns once the slow new generation serves; a failed one keeps the old; stop drains', async (t) => {
    const name = 'app-notify-reload';
    cleanupAfter(t, name);
    await machine.systemctl('start', name);
    // No retry: `systemctl start` returned only once the app was ready.
    const first = await machine.ask();
    assert.equal(first.generation, 1);
    // --user: tsdaemon started as root, bound port 80, and dropped; the app never ran as root.
    const { MainPID } = await machine.show(name, 'MainPID');
    assert.equal(await machine.uidOf(MainPID), WWW_DATA);
    assert.equal(first.uid, WWW_DATA);
    const tookMs = await reloadUnderLoad(machine, t, name, 1500);
    assert.ok(
      tookMs >= 1500,
      `systemctl reload returned after ${tookMs} ms, before the new generation was ready`,
    );
    // A new generation that fails: the reload returns, the old generation keeps serving.
    machine.writeFile('/srv/app/fail', '');
    await machine.systemctl('reload', name);
    assert.equal((await machine.ask()).generation, 2);
    assert.match(await machine.journal(name), /restart failed/);
    machine.removeFile('/srv/app/fail');
    await stopDrains(machine, name);
  });

  it('Type=notify with ExecReload=tsdaemon reload: reload under load with 0 failed requests, then stop drains', async (t) => {
    const name = 'app-notify';
    cleanupAfter(t, name);
    await machine.systemctl('start', name);
    assert.equal((await machine.ask()).generation, 1);
    const tookMs = await reloadUnderLoad(machine, t, name, 1000);
    assert.ok(tookMs >= 1000, `systemctl reload returned after ${tookMs} ms`);
    await stopDrains(machine, name);
  });

  it('WatchdogSec=: a stalled tsdaemon (SIGSTOP) is killed and the service restarted', async (t) => {
    const name = 'app-watchdog';
    cleanupAfter(t, name);
    await machine.systemctl('start', name);
    const { MainPID } = await machine.show(name, 'MainPID');
    await sleep(2500); // longer than WatchdogSec=2: tsdaemon's pings keep it running
    assert.equal((await machine.show(name, 'NRestarts')).NRestarts, '0');
    await machine.must(['kill', '-STOP', MainPID]);
    const restarted = await until(
      async () => {
        const show = await machine.show(name, 'MainPID', 'NRestarts', 'ActiveState');
        return show.NRestarts === '1' && show.ActiveState === 'active' && show.MainPID !== MainPID && show;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'systemd to restart the stalled service' },
    );
    assert.notEqual(restarted.MainPID, MainPID);
    assert.match(await machine.journal(name), /Watchdog timeout/);
    assert.equal((await machine.ask()).generation, 1);
  });

  it('Type=exec: start, serve, reload, stop', async (t) => {
    const name = 'app-exec';
    cleanupAfter(t, name);
    await machine.systemctl('start', name);
    // Type=exec returns once tsdaemon runs, not when the app is ready.
    await until(() => machine.ask(), { what: 'the app to answer' });
    await machine.systemctl('reload', name);
    assert.equal((await machine.ask()).generation, 2);
    await stopDrains(machine, name);
  });

  it('Type=forking with --daemon: start returns once ready, reload, ExecStop drains', async (t) => {
    const name = 'app-forking';
    cleanupAfter(t, name);
    await machine.systemctl('start', name);
    assert.equal((await machine.ask()).generation, 1);
    const { MainPID } = await machine.show(name, 'MainPID');
    assert.equal((await machine.must(['cat', '/run/app.pid'])).trim(), MainPID);
    await machine.systemctl('reload', name);
    assert.equal((await machine.ask()).generation, 2);
    // --daemon logs to --log-file, not to the journal.
    await stopDrains(machine, name, { journal: false });
    assert.match(await machine.must(['cat', '/var/log/app/tsdaemon.log']), /running -> draining/);
  });

  it('app.socket + app.service (User=, --listen=systemd:web): the first connection starts it; tsdaemon never runs as root', async (t) => {
    cleanupAfter(t, 'app.socket', 'app.service');
    await machine.systemctl('start', 'app.socket');
    assert.equal((await machine.show('app.service', 'ActiveState')).ActiveState, 'inactive');
    // This connection waits in the socket's backlog while systemd starts the service.
    const first = await machine.ask();
    assert.deepEqual(
      { generation: first.generation, uid: first.uid, fdNames: first.fdNames },
      {
        generation: 1,
        uid: WWW_DATA,
        fdNames: 'web',
      },
    );
    const { MainPID } = await machine.show('app.service', 'MainPID');
    const status = await machine.must(['cat', `/proc/${MainPID}/status`]);
    assert.match(status, /\nUid:\s+33\s+33\s+33\s+33\n/, 'tsdaemon runs as www-data only (User=)');
    await reloadUnderLoad(machine, t, 'app.service', 500);
    await stopDrains(machine, 'app.service');
    // The socket stays with systemd: the next connection starts the service again.
    assert.equal((await machine.show('app.socket', 'ActiveState')).ActiveState, 'active');
    assert.equal((await machine.ask()).generation, 1);
  });

  it("tsdaemon's lines in the journal carry their priority: journalctl -p warning shows the warnings only", async (t) => {
    const name = 'app-notify-reload';
    cleanupAfter(t, name);
    const since = (await machine.must(['date', '+%s'])).trim();
    await machine.systemctl('start', name);
    const { pid } = await machine.ask();
    await machine.must(['kill', '-KILL', String(pid)]); // a crash: tsdaemon warns and restarts the app
    await until(async () => (await machine.ask()).generation === 2, { what: 'the restarted app' });
    const all = await machine.journal(name, `--since=@${since}`);
    assert.match(all, /generation 1 exited \(signal SIGKILL\)/);
    assert.match(all, /listening tcp/);
    // tsdaemon sees JOURNAL_STREAM name its stderr and writes sd-daemon "<N>" prefixes: journald files
    // each line at its own priority.
    const warnings = await machine.journal(name, `--since=@${since}`, '-p', 'warning');
    assert.match(warnings, /generation 1 exited \(signal SIGKILL\)/);
    assert.doesNotMatch(warnings, /listening tcp/);
  });
});
