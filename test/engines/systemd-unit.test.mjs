// `tsdaemon unit` under a real systemd 254 (a machine of test/engines/systemd.sh): the units it prints
// for a command line start, reload under load with no failed request and stop with the work in flight
// answered; the command line reaches the app word for word; and docs/operations.md shows what it prints.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { docBlocks } from '../helpers/docs.mjs';
import { machineForFile, reloadUnderLoad, stopDrains } from '../helpers/systemd.mjs';
import { fixture } from '../helpers/tsdaemon.mjs';

const { machine, unavailable } = await machineForFile('test/engines/systemd-unit.test.mjs');

const WWW_DATA = 33;
// Words systemd would otherwise take apart or expand: they must reach the app as given.
const AWKWARD_ARGS = ['a b', '50%', '$HOME', 'x"y', "it's", 'back\\slash'];

/** `tsdaemon unit ARGS` in /srv/app of the machine, with systemd's PATH and nothing else in the environment. */
const unit = (...args) =>
  machine.must([
    'env',
    '-i',
    '--chdir=/srv/app',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'tsdaemon',
    'unit',
    ...args,
  ]);

describe('systemd 254: the units `tsdaemon unit` prints', { skip: unavailable }, () => {
  before(async () => {
    machine.installTsdaemon();
    machine.writeFile('/srv/app/app.js', readFileSync(fixture('systemd-app.js')));
    const to = '--output-dir=/etc/systemd/system';
    await unit(
      to,
      '--name=gen-auto',
      '--listen=:80',
      '--user=www-data',
      '--lame-duck=5s',
      '--',
      'node',
      'app.js',
      ...AWKWARD_ARGS,
    );
    await unit(
      to,
      '--name=gen-notify',
      '--type=notify',
      '--listen=:80',
      '--user=www-data',
      '--',
      'node',
      'app.js',
    );
    await unit(
      to,
      '--name=gen-socket',
      '--socket',
      '--listen=web=:80',
      '--user=www-data',
      '--',
      'node',
      '/srv/app/app.js',
    );
    await machine.systemctl('daemon-reload');
  });

  it('prints the unit that docs/operations.md shows for its example', async () => {
    const [documented] = docBlocks(
      'docs/operations.md',
      '### `tsdaemon unit`: a unit for your command line',
      'ini',
    );
    assert.equal(await unit('--listen=:80', '--user=www-data', '--', 'node', 'app.js'), documented);
  });

  it('on systemd 254: Type=notify-reload; the command line reaches the app word for word; reload under load; stop drains', async (t) => {
    t.after(() => machine.exec(['systemctl', 'stop', 'gen-auto']));
    await machine.systemctl('start', 'gen-auto');
    const show = await machine.show(
      'gen-auto',
      'Type',
      'TimeoutStopUSec',
      'KillMode',
      'Restart',
      'WorkingDirectory',
    );
    assert.deepEqual(show, {
      Type: 'notify-reload',
      TimeoutStopUSec: '10s',
      KillMode: 'mixed',
      Restart: 'on-failure',
      WorkingDirectory: '/srv/app',
    });
    const answer = await machine.ask();
    assert.deepEqual(answer.argv, AWKWARD_ARGS);
    assert.equal(answer.uid, WWW_DATA);
    await reloadUnderLoad(machine, t, 'gen-auto', 1000);
    await stopDrains(machine, 'gen-auto');
  });

  it('--type=notify: ExecReload=tsdaemon reload over a control socket in /run/NAME; reload under load; stop drains', async (t) => {
    t.after(() => machine.exec(['systemctl', 'stop', 'gen-notify']));
    await machine.systemctl('start', 'gen-notify');
    assert.equal((await machine.show('gen-notify', 'Type')).Type, 'notify');
    const tookMs = await reloadUnderLoad(machine, t, 'gen-notify', 1000);
    assert.ok(
      tookMs >= 1000,
      `systemctl reload returned after ${tookMs} ms, before the new generation was ready`,
    );
    await stopDrains(machine, 'gen-notify');
  });

  it('--socket: systemd binds port 80, tsdaemon takes it as User=www-data; reload under load; stop drains', async (t) => {
    t.after(() => machine.exec(['systemctl', 'stop', 'gen-socket.socket', 'gen-socket.service']));
    await machine.systemctl('start', 'gen-socket.socket');
    const answer = await machine.ask();
    assert.deepEqual({ uid: answer.uid, fdNames: answer.fdNames }, { uid: WWW_DATA, fdNames: 'web' });
    const { MainPID } = await machine.show('gen-socket.service', 'MainPID');
    assert.equal(await machine.uidOf(MainPID), WWW_DATA);
    await reloadUnderLoad(machine, t, 'gen-socket.service', 500);
    await stopDrains(machine, 'gen-socket.service');
  });
});
