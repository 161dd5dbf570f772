// The layer rules, checked by `npm run lint:layers` (part of `npm test`). docs/ARCHITECTURE.md has
// the same table in prose. A rule names what may not happen; every import that breaks one fails
// the run with the rule's name and the offending edge.
//
//   shared/    pure: codecs, config schemas, types. Imports shared/ and pure npm packages only.
//   io/        thin Node adapters (sockets, timers, files). Imports shared/, Node, npm.
//   engine/    the client engine. Imports shared/, io/, Node, npm. Not server/, not the hosts.
//   server/    the public daemon. Imports shared/, io/, Node, npm. Not engine/, not the hosts.
//   cli/, bin/  the hosts: wiring only. May import any layer below them.
//   hosts/     what more than one host needs and no lower layer may hold: today the embedded server
//              of "Try it locally" (hosts/local-server.ts), used by cli/ and electron/. Imports
//              engine/, server/, shared/, io/, Node, npm; imported only by the hosts (cli/, electron/,
//              bin/) and bench/, tests/, e2e/. With cli/ and bin/, the only folder that imports both
//              engine/ and server/.
//   renderer/  (later) the desktop UI. Imports shared/ and npm packages; no Node, no other layer.
//   electron/  the desktop app's main process and preload: imports engine/, hosts/, shared/, io/, Node, npm
//              (and is the only folder that may import the 'electron' package); nothing imports it.
//              Not server/ directly: the embedded server comes through hosts/.
//   build/     packaging (electron-builder config, icon scripts): imports nothing of the app; nothing imports it.
//   bench/, tests/, e2e/   benchmarks, loopback integration tests, end-to-end tests (the NAT lab,
//              the UI in a browser): like a host, may import any layer.
//
// Type-only imports count (tsPreCompilationDeps): a type from server/ in engine/ couples them as
// much as a value does. Unit tests (x.test.ts) follow the rules of the folder they sit in; the one
// exception is shared/, whose tests may also use io/ (the Node adapters that supply what shared/
// takes injected, e.g. io/stun-crypto.ts), Node builtins and the test tooling (vitest, fast-check).

/**
 * npm packages shared/ may use: pure JavaScript with no Node or DOM dependency (saslprep's Node
 * entry inflates its tables with zlib; its "browser" export is the same code without it). Add one
 * here, and in docs/ARCHITECTURE.md, only after checking that.
 */
const PURE_PACKAGES = ['zod', '@mongodb-js/saslprep'];

const LAYERS = ['shared', 'io', 'engine', 'server', 'hosts', 'cli', 'electron', 'bin', 'renderer', 'bench', 'tests', 'e2e', 'build'];

const folders = (names) => `^(${names.join('|')})/`;
const packages = (names) => `^node_modules/(${names.join('|')})/`;
const TEST_FILE = '\\.test\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'shared-imports-only-shared',
      severity: 'error',
      comment:
        'shared/ is pure (no Node or DOM APIs): it may import shared/ and the pure npm packages ' +
        `${PURE_PACKAGES.join(', ')} only. Node builtins, io/ and every other layer are out.`,
      from: { path: '^shared/', pathNot: TEST_FILE },
      to: { pathNot: [folders(['shared']), packages(PURE_PACKAGES)] },
    },
    {
      name: 'shared-tests-import-no-upper-layer',
      severity: 'error',
      comment:
        'A shared/ unit test may use shared/, io/ (to supply the injected Node implementations), ' +
        'Node builtins and the test tooling; not engine/, server/, the hosts, bench/, tests/ or e2e/.',
      from: { path: `^shared/.*${TEST_FILE}` },
      to: { path: folders(LAYERS.filter((l) => l !== 'shared' && l !== 'io')) },
    },
    {
      name: 'io-imports-no-upper-layer',
      severity: 'error',
      comment: 'io/ holds thin Node adapters under engine/ and server/: it may import shared/, Node and npm only.',
      from: { path: '^io/' },
      to: { path: folders(LAYERS.filter((l) => l !== 'shared' && l !== 'io')) },
    },
    {
      name: 'engine-imports-not-server-or-hosts',
      severity: 'error',
      comment:
        'engine/ is the client engine the hosts embed: it may import shared/, io/, Node and npm, not ' +
        'server/, electron/, cli/, renderer/, bench/, tests/ or e2e/. Only a host imports both engine/ and server/.',
      from: { path: '^engine/' },
      to: { path: folders(LAYERS.filter((l) => !['shared', 'io', 'engine'].includes(l))) },
    },
    {
      name: 'server-imports-not-engine-or-hosts',
      severity: 'error',
      comment:
        'server/ is the public daemon the hosts embed: it may import shared/, io/, Node and npm, not ' +
        'engine/, electron/, cli/, renderer/, bench/, tests/ or e2e/. Only a host imports both engine/ and server/.',
      from: { path: '^server/' },
      to: { path: folders(LAYERS.filter((l) => !['shared', 'io', 'server'].includes(l))) },
    },
    {
      name: 'renderer-imports-only-shared',
      severity: 'error',
      comment:
        'renderer/ (the desktop UI, later) runs without Node: it may import shared/ and npm packages, ' +
        'no Node builtins and no other layer (it talks to the engine through the preload bridge).',
      from: { path: '^renderer/' },
      to: {
        pathNot: [folders(['shared', 'renderer']), '^node_modules/'],
      },
    },
    {
      name: 'electron-imports-engine-hosts-shared-io-only',
      severity: 'error',
      comment:
        'electron/ (the desktop main process) hosts the engine the way cli/ does: it may import engine/, hosts/, shared/, io/, ' +
        'Node and npm, not server/ (the embedded server comes through hosts/), cli/, renderer/, bin/, bench/, tests/, e2e/ or build/.',
      from: { path: '^electron/' },
      to: { path: folders(LAYERS.filter((l) => !['shared', 'io', 'engine', 'hosts', 'electron'].includes(l))) },
    },
    {
      name: 'hosts-imports-no-host',
      severity: 'error',
      comment:
        'hosts/ holds what several hosts share (the embedded server of "Try it locally"): it may import engine/, server/, ' +
        'shared/, io/, Node and npm, not a host (cli/, electron/, bin/), renderer/, bench/, tests/, e2e/ or build/.',
      from: { path: '^hosts/' },
      to: { path: folders(LAYERS.filter((l) => !['shared', 'io', 'engine', 'server', 'hosts'].includes(l))) },
    },
    {
      name: 'only-hosts-import-hosts-folder',
      severity: 'error',
      comment: 'hosts/ is wiring the hosts share: only cli/, electron/, bin/ (and bench/, tests/, e2e/) import it.',
      from: { path: folders(['shared', 'io', 'engine', 'server', 'renderer', 'build']) },
      to: { path: '^hosts/' },
    },
    {
      name: 'nothing-imports-electron-folder',
      severity: 'error',
      comment: 'electron/ is a host: no other folder imports it (the renderer reaches it only through the preload bridge, typed in shared/ipc/bridge.ts).',
      from: { pathNot: '^electron/' },
      to: { path: '^electron/' },
    },
    {
      name: 'only-electron-imports-the-electron-package',
      severity: 'error',
      comment: "The 'electron' package exists only inside the desktop app: engine/, shared/, the renderer and the rest must run without it.",
      from: { pathNot: '^electron/' },
      to: { path: '(^|/)node_modules/electron/' },
    },
    {
      name: 'nothing-imports-build',
      severity: 'error',
      comment: 'build/ holds packaging scripts and resources; the app does not import them.',
      from: { pathNot: '^build/' },
      to: { path: '^build/' },
    },
    {
      name: 'every-module-has-a-layer',
      severity: 'error',
      comment:
        `A module outside the known folders (${LAYERS.join(', ')}) or the root config files: ` +
        'give the new folder its place in .dependency-cruiser.cjs and docs/ARCHITECTURE.md first.',
      from: { path: '/', pathNot: [folders(LAYERS), '^node_modules/'] },
      to: {},
    },
    {
      name: 'no-import-cycles',
      severity: 'error',
      comment: 'Modules form a tree: an import cycle (type-only ones too) means two modules are one concern or a type sits in the wrong file.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: '^node_modules/' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
