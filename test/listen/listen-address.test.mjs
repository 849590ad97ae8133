// The --listen grammar: table tests of every documented form and error, then fast-check properties.
// Pure: imports the compiled parser and opens no socket.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { defaultListenerName, ListenSyntaxError, parseListen } from '../../dist/listen/address.js';

const CWD = '/srv/app';
const KINDS = ['tcp', 'udp', 'unix', 'fd', 'systemd'];
const NAME_CHARS = /^[A-Za-z0-9_.-]+$/;

const tcp = (raw, host, port, extra = {}) => ({
  kind: 'tcp',
  raw,
  host,
  port,
  reuseport: false,
  ipv6only: false,
  ...extra,
});
const udp = (raw, host, port, extra = {}) => ({ ...tcp(raw, host, port, extra), kind: 'udp' });

describe('parseListen: documented forms', () => {
  // [input, expected spec, expected default name (undefined: checked only for its character set)]
  const cases = [
    [':8080', tcp(':8080', '', 8080), 'tcp-8080'],
    ['8080', tcp('8080', '', 8080), 'tcp-8080'],
    ['0.0.0.0:8080', tcp('0.0.0.0:8080', '0.0.0.0', 8080), 'tcp-8080'],
    ['127.0.0.1:8080', tcp('127.0.0.1:8080', '127.0.0.1', 8080), 'tcp-127.0.0.1-8080'],
    ['[::]:8080', tcp('[::]:8080', '::', 8080), 'tcp-8080'],
    ['[::1]:8080', tcp('[::1]:8080', '::1', 8080), undefined],
    ['localhost:8080', tcp('localhost:8080', 'localhost', 8080), 'tcp-localhost-8080'],
    ['tcp:127.0.0.1:80', tcp('tcp:127.0.0.1:80', '127.0.0.1', 80), 'tcp-127.0.0.1-80'],
    ['tcp::80', tcp('tcp::80', '', 80), 'tcp-80'],
    [':0', tcp(':0', '', 0), 'tcp-0'],
    [':65535', tcp(':65535', '', 65535), 'tcp-65535'],
    ['unix:/run/app.sock', { kind: 'unix', raw: 'unix:/run/app.sock', path: '/run/app.sock' }, 'unix-app'],
    [
      'unix:run/app.sock',
      { kind: 'unix', raw: 'unix:run/app.sock', path: '/srv/app/run/app.sock' },
      'unix-app',
    ],
    ['unix:../x.sock', { kind: 'unix', raw: 'unix:../x.sock', path: '/srv/x.sock' }, 'unix-x'],
    ['unix:/tmp/a=b.sock', { kind: 'unix', raw: 'unix:/tmp/a=b.sock', path: '/tmp/a=b.sock' }, 'unix-a_b'],
    [
      'admin=unix:/tmp/app.sock',
      { kind: 'unix', raw: 'admin=unix:/tmp/app.sock', name: 'admin', path: '/tmp/app.sock' },
      'unix-app',
    ],
    ['udp:127.0.0.1:5353', udp('udp:127.0.0.1:5353', '127.0.0.1', 5353), 'udp-127.0.0.1-5353'],
    ['udp::5353', udp('udp::5353', '', 5353), 'udp-5353'],
    ['udp:[::1]:53', udp('udp:[::1]:53', '::1', 53), undefined],
    ['&3', { kind: 'fd', raw: '&3', fd: 3 }, 'fd3'],
    ['&10', { kind: 'fd', raw: '&10', fd: 10 }, 'fd10'],
    ['systemd', { kind: 'systemd', raw: 'systemd' }, 'systemd'],
    ['systemd:web', { kind: 'systemd', raw: 'systemd:web', fdName: 'web' }, 'web'],
    ['web=:8080', tcp('web=:8080', '', 8080, { name: 'web' }), 'tcp-8080'],
    // options
    [':80,backlog=128', tcp(':80,backlog=128', '', 80, { backlog: 128 }), 'tcp-80'],
    [':80,reuseport', tcp(':80,reuseport', '', 80, { reuseport: true }), 'tcp-80'],
    [':80,reuseport=true', tcp(':80,reuseport=true', '', 80, { reuseport: true }), 'tcp-80'],
    [':80,reuseport=false', tcp(':80,reuseport=false', '', 80), 'tcp-80'],
    ['[::]:80,ipv6only', tcp('[::]:80,ipv6only', '::', 80, { ipv6only: true }), 'tcp-80'],
    [':80,ipv6only', tcp(':80,ipv6only', '', 80, { ipv6only: true }), 'tcp-80'],
    ['udp::53,reuseport', udp('udp::53,reuseport', '', 53, { reuseport: true }), 'udp-53'],
    ['&3,backlog=64', { kind: 'fd', raw: '&3,backlog=64', fd: 3, backlog: 64 }, 'fd3'],
    [
      'unix:/run/a.sock,mode=0660,owner=www,group=staff,backlog=10',
      {
        kind: 'unix',
        raw: 'unix:/run/a.sock,mode=0660,owner=www,group=staff,backlog=10',
        path: '/run/a.sock',
        mode: 0o660,
        owner: 'www',
        group: 'staff',
        backlog: 10,
      },
      'unix-a',
    ],
    [
      'unix:/run/a.sock,mode=600',
      { kind: 'unix', raw: 'unix:/run/a.sock,mode=600', path: '/run/a.sock', mode: 0o600 },
      'unix-a',
    ],
  ];

  for (const [raw, expected, name] of cases) {
    it(`parses ${JSON.stringify(raw)}`, () => {
      const spec = parseListen(raw, CWD);
      assert.deepEqual(spec, expected);
      const defaultName = defaultListenerName(spec);
      if (name !== undefined) assert.equal(defaultName, name);
      assert.match(defaultName, NAME_CHARS);
      assert.ok(!defaultName.includes(':'));
    });
  }

  it('trims surrounding white space but keeps the raw text for messages', () => {
    assert.deepEqual(parseListen('  :80 ', CWD), tcp('  :80 ', '', 80));
  });

  it('gives distinct IPv6 hosts a name with their own port and kind', () => {
    const name = defaultListenerName(parseListen('[::1]:8080'));
    assert.match(name, /^tcp-.+-8080$/);
    assert.match(defaultListenerName(parseListen('udp:[::1]:53')), /^udp-.+-53$/);
  });

  it('resolves a relative unix path against / when no cwd is given', () => {
    assert.equal(parseListen('unix:a.sock').path, '/a.sock');
  });
});

describe('parseListen: errors name the problem', () => {
  // [input, a pattern the message must match]
  const cases = [
    [':65536', /port '65536'.*0 to 65535/],
    [':abc', /port 'abc'/],
    ['[::1]:', /port ''/],
    ['::1:80', /IPv6 addresses need brackets: \[::1\]:80/],
    ['[::1]', /\[ADDR\]:PORT/],
    ['[nope]:80', /'nope' is not an IPv6 address/],
    ['foo_bar:80', /'foo_bar' is not a valid host name/],
    ['&2', /fd 2 is stdin\/stdout\/stderr/],
    ['&0', /fd 0/],
    ['&x', /expected &FD with a number/],
    ['&', /expected &FD/],
    ['', /no address/],
    ['   ', /no address/],
    ['web=', /no address/],
    ['we b=:80', /name 'we b' may use only/],
    ['=:80', /name ''/],
    [`${'a'.repeat(65)}=:80`, /name 'a{65}'/],
    ['nonsense', /expected HOST:PORT/],
    ['udp:', /expected HOST:PORT/],
    ['unix:', /unix: needs a path/],
    ['unix:/a\0b', /NUL byte/],
    ['systemd:we b', /systemd:we b: expected the FileDescriptorName=/],
    [':80,foo', /option 'foo' does not apply to a tcp listener \(valid: backlog, reuseport, ipv6only\)/],
    [':80,mode=0660', /option 'mode' does not apply to a tcp listener/],
    [':80,owner=www', /option 'owner' does not apply to a tcp listener/],
    ['udp::53,backlog=5', /option 'backlog' does not apply to a udp listener \(valid: reuseport, ipv6only\)/],
    ['unix:/a.sock,reuseport', /option 'reuseport' does not apply to a unix listener/],
    ['&3,reuseport', /option 'reuseport' does not apply to a fd listener/],
    ['systemd,backlog=1', /option 'backlog' does not apply to a systemd listener \(valid: none\)/],
    [':80,backlog=1,backlog=2', /option 'backlog' given twice/],
    [':80,reuseport,reuseport=false', /option 'reuseport' given twice/],
    [':80,', /empty option between commas/],
    [':80,,reuseport', /empty option/],
    [':80,backlog=0', /backlog=0: must be a number from 1 to 65535/],
    [':80,backlog=65536', /backlog=65536/],
    [':80,backlog=-1', /backlog=-1/],
    [':80,backlog=ten', /backlog=ten/],
    [':80,backlog', /backlog needs a value/],
    [':80,reuseport=yes', /reuseport=yes: use reuseport, reuseport=true or reuseport=false/],
    ['127.0.0.1:80,ipv6only', /ipv6only needs an IPv6 address/],
    ['unix:/a.sock,mode=999', /mode=999: must be octal/],
    ['unix:/a.sock,mode=0x1ff', /mode=0x1ff/],
    ['unix:/a.sock,mode=', /mode needs a value/],
    ['unix:/a.sock,owner=', /owner needs a value/],
    ['unix:/a.sock,owner', /owner needs a value/],
    ['unix:/a.sock,group=', /group needs a value/],
    [`unix:/${'a'.repeat(107)}`, /the socket path is 108 bytes; at most 107 fit/],
  ];

  for (const [raw, pattern] of cases) {
    it(`rejects ${JSON.stringify(raw)}`, () => {
      assert.throws(
        () => parseListen(raw, CWD),
        (error) => {
          assert.ok(error instanceof ListenSyntaxError, `${error?.name}: ${error?.message}`);
          assert.equal(error.name, 'ListenSyntaxError');
          assert.ok(error.message.startsWith(`'${raw}': `), error.message);
          assert.match(error.message, pattern);
          return true;
        },
      );
    });
  }

  it('accepts a unix path of exactly 107 bytes, counting bytes rather than characters', () => {
    assert.equal(parseListen(`unix:/${'a'.repeat(106)}`).path.length, 107);
    // 'é' is two bytes in UTF-8: 1 + 53 * 2 = 107 fits, one more does not.
    assert.equal(parseListen(`unix:/${'é'.repeat(53)}`).kind, 'unix');
    assert.throws(() => parseListen(`unix:/${'é'.repeat(54)}`), /109 bytes/);
  });

  it('counts the cwd into the length of a relative unix path', () => {
    const cwd = `/${'d'.repeat(100)}`;
    assert.throws(() => parseListen('unix:app.sock', cwd), ListenSyntaxError);
  });
});

// ---- properties -----------------------------------------------------------------------------------------

const RUNS = 300;

const nameArb = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/);
const portArb = fc.integer({ min: 0, max: 65535 });
const userArb = fc.stringMatching(/^[a-z_][a-z0-9_-]{0,15}$/);
const segmentArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/).filter((s) => s !== '.' && s !== '..');

/** "reuseport", "reuseport=true", "=1": every spelling of a flag, with the value it means. */
const flagArb = (key) =>
  fc.constantFrom(
    [key, true],
    [`${key}=true`, true],
    [`${key}=1`, true],
    [`${key}=false`, false],
    [`${key}=0`, false],
  );

/** A host part for tcp/udp: [text written, host in the spec, whether ipv6only may be given]. */
const hostArb = fc.oneof(
  fc.constant(['', '', true]),
  fc.ipV4().map((ip) => [ip, ip, false]),
  fc.ipV6().map((ip) => [`[${ip}]`, ip, true]),
  fc.constantFrom('localhost', 'example.com', 'db-1.internal').map((h) => [h, h, false]),
);

const inetArb = (kind) =>
  fc
    .record({
      host: hostArb,
      port: portArb,
      bare: fc.boolean(),
      prefixed: fc.boolean(),
      backlog: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      reuseport: fc.option(flagArb('reuseport'), { nil: undefined }),
      ipv6only: fc.option(flagArb('ipv6only'), { nil: undefined }),
    })
    .map(({ host: [hostText, host, v6], port, bare, prefixed, backlog, reuseport, ipv6only }) => {
      const options = [];
      const expected = { kind, host, port, reuseport: false, ipv6only: false };
      if (backlog !== undefined && kind === 'tcp') {
        options.push(`backlog=${backlog}`);
        expected.backlog = backlog;
      }
      if (reuseport) {
        options.push(reuseport[0]);
        expected.reuseport = reuseport[1];
      }
      if (ipv6only && v6) {
        options.push(ipv6only[0]);
        expected.ipv6only = ipv6only[1];
      }
      const hostPort = hostText === '' && bare ? `${port}` : `${hostText}:${port}`;
      const address = kind === 'udp' ? `udp:${hostPort}` : prefixed ? `tcp:${hostPort}` : hostPort;
      return { address, options, expected };
    });

const unixArb = fc
  .record({
    segments: fc.array(segmentArb, { minLength: 1, maxLength: 6 }),
    relative: fc.boolean(),
    mode: fc.option(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 0o777 })), { nil: undefined }),
    owner: fc.option(userArb, { nil: undefined }),
    group: fc.option(userArb, { nil: undefined }),
    backlog: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  })
  .map(({ segments, relative, mode, owner, group, backlog }) => {
    const path = segments.join('/');
    const expected = { kind: 'unix', path: relative ? `${CWD}/${path}` : `/${path}` };
    const options = [];
    if (mode) {
      const octal = mode[1].toString(8).padStart(3, '0');
      options.push(`mode=${mode[0] ? `0${octal}` : octal}`);
      expected.mode = mode[1];
    }
    if (owner !== undefined) {
      options.push(`owner=${owner}`);
      expected.owner = owner;
    }
    if (group !== undefined) {
      options.push(`group=${group}`);
      expected.group = group;
    }
    if (backlog !== undefined) {
      options.push(`backlog=${backlog}`);
      expected.backlog = backlog;
    }
    return { address: relative ? `unix:${path}` : `unix:/${path}`, options, expected };
  });

const fdArb = fc
  .tuple(
    fc.integer({ min: 3, max: 9_999_999 }),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  )
  .map(([fd, backlog]) => ({
    address: `&${fd}`,
    options: backlog === undefined ? [] : [`backlog=${backlog}`],
    expected: backlog === undefined ? { kind: 'fd', fd } : { kind: 'fd', fd, backlog },
  }));

const systemdArb = fc.option(nameArb, { nil: undefined }).map((fdName) => ({
  address: fdName === undefined ? 'systemd' : `systemd:${fdName}`,
  options: [],
  expected: fdName === undefined ? { kind: 'systemd' } : { kind: 'systemd', fdName },
}));

/** A valid --listen value and the spec it must parse to. */
const validListenArb = fc
  .tuple(
    fc.oneof(inetArb('tcp'), inetArb('udp'), unixArb, fdArb, systemdArb),
    fc.option(nameArb, { nil: undefined }),
  )
  .chain(([{ address, options, expected }, name]) =>
    fc.shuffledSubarray(options, { minLength: options.length, maxLength: options.length }).map((shuffled) => {
      const raw = [name === undefined ? address : `${name}=${address}`, ...shuffled].join(',');
      const spec = { ...expected, raw };
      if (name !== undefined) spec.name = name;
      return { raw, spec };
    }),
  );

/** Strings built from the grammar's own pieces, which reach deeper than random text. */
const grammarSoupArb = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'unix:',
        'udp:',
        'tcp:',
        'systemd',
        'systemd:',
        '&',
        '&3',
        ':',
        '::',
        '[',
        ']',
        '[::1]',
        '=',
        ',',
        'web=',
        'backlog=',
        'mode=',
        'owner=',
        'group=',
        'reuseport',
        'ipv6only',
        '=false',
        '0660',
        '80',
        '65536',
        '127.0.0.1',
        'localhost',
        '/',
        '..',
        ' ',
        '\0',
        '-1',
        'é',
      ),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

// Any code point, lone surrogates included. (A custom unit: fc.string's 'binary' and 'grapheme' units cost
// ~0.7 s to set up, which would dwarf the tests.)
const codePointArb = fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp));
const anyStringArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: codePointArb, maxLength: 40 }),
  grammarSoupArb,
);

function parseOrError(raw) {
  try {
    return { spec: parseListen(raw, CWD) };
  } catch (error) {
    return { error };
  }
}

describe('parseListen: properties', () => {
  it('returns a spec of a known kind or throws ListenSyntaxError, for any string', () => {
    fc.assert(
      fc.property(anyStringArb, (raw) => {
        const { spec, error } = parseOrError(raw);
        if (error !== undefined) {
          assert.ok(error instanceof ListenSyntaxError, `${raw}: ${error?.name}: ${error?.message}`);
          assert.ok(error.message.startsWith(`'${raw}': `));
          return;
        }
        assert.ok(KINDS.includes(spec.kind), `kind ${spec.kind}`);
        assert.equal(spec.raw, raw);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('parses every generated valid value to exactly the fields it was built from', () => {
    fc.assert(
      fc.property(validListenArb, ({ raw, spec }) => {
        assert.deepEqual(parseListen(raw, CWD), spec);
      }),
      { numRuns: RUNS },
    );
  });

  it('derives a default name without ":" from the characters [A-Za-z0-9_.-] for every parsed spec', () => {
    const check = (spec) => {
      const name = defaultListenerName(spec);
      assert.ok(!name.includes(':'), name);
      assert.match(name, NAME_CHARS);
      assert.equal(defaultListenerName(spec), name, 'stable');
    };
    fc.assert(
      fc.property(validListenArb, ({ raw }) => check(parseListen(raw, CWD))),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(anyStringArb, (raw) => {
        const { spec } = parseOrError(raw);
        if (spec) check(spec);
      }),
      { numRuns: RUNS },
    );
  });
});
