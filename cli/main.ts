/** `burrow` command line: dispatches to the subcommands (public interface: see README "CLI"). */
import { BURROW_VERSION } from '../shared/version.js';

// Each command is loaded on demand: a server process never loads the client engine, and
// nothing pays for modules it does not use (RSS matters at thousands of connections).

export const USAGE = `burrow ${BURROW_VERSION}: relay tunnels through a public server

Usage:
  burrow demo [--no-tls] [--duration SECONDS] [--json]
      Start a server and a client on loopback, expose a built-in demo web service through
      the relay, print its public address and show live byte counters until Ctrl-C.
  burrow server --config server.yaml
      Run the public server (control port, tunnels, admin API).
  burrow client --config client.yaml
      Run the client engine headless (tunnels and visitors from the config).
  burrow console [--config FILE] [--listen 127.0.0.1:PORT] [--open] [--json]
      Run the client engine with the web console on loopback (config default:
      $XDG_CONFIG_HOME/burrow/client.yaml); prints the URL with its access token.
  burrow status [--admin HOST:PORT | --config client.yaml] [--json]
      Show a running client's tunnels, states, addresses and counters.
  burrow stun HOST:PORT [--json] [--tcp] [--timeout SECONDS]
      Ask a STUN server for this host's mapped (public) address; print it and the round-trip time.
  burrow turn HOST:PORT --user U --password P [--json] [--tcp] [--channel] [--count N] [--timeout SECONDS]
      Allocate a TURN relay, print the relayed address and echo N probes (default 5) through it
      via a local peer socket, then release it. The password may come from BURROW_TURN_PASSWORD.
  burrow nat --stun HOST:PORT [--json] [--lifetime]
      Classify this host's NAT per RFC 5780 (mapping, filtering, hairpinning; with --lifetime
      also the binding lifetime, up to 60 s) and its classic name. Needs a server with two addresses.
  burrow --version | --help

Config files are YAML; see README.md. SIGHUP (or saving the file) reloads them.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server':
      return (await import('./server-command.js')).runServer(rest);
    case 'client':
      return (await import('./client-command.js')).runClient(rest);
    case 'console':
      return (await import('./console-command.js')).runConsole(rest);
    case 'status':
      return (await import('./status-command.js')).runStatus(rest);
    case 'demo':
      return (await import('./demo-command.js')).runDemo(rest);
    case 'stun':
      return (await import('./stun-command.js')).runStun(rest);
    case 'turn':
      return (await import('./turn-command.js')).runTurn(rest);
    case 'nat':
      return (await import('./nat-command.js')).runNat(rest);
    case '--version':
    case '-v':
    case 'version':
      console.log(BURROW_VERSION);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    default:
      console.error(`burrow: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
