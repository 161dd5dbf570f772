import { createRoot } from 'react-dom/client';
import { bridgeTransport, type ContractBridge } from '../../shared/ipc/bridge.js';
import { createClient } from '../../shared/ipc/client.js';
import { App } from './App.js';
import { bindPageToHash } from './route.js';
import { createConsoleStore, mergeHistory, mergeLogs } from './store.js';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

// In the desktop app the preload's bridge (window.burrow) carries the contract over Electron IPC;
// in a browser (`burrow console`) the page was served after the token check and the WebSocket
// carries the same cookie.
const bridge = (window as { burrow?: ContractBridge }).burrow;
const ws = bridge ? undefined : new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
const queue: string[] = [];
const client = createClient(
  ws === undefined
    ? bridgeTransport(bridge!)
    : {
        send: (m) => (ws.readyState === WebSocket.OPEN ? ws.send(JSON.stringify(m)) : queue.push(JSON.stringify(m))),
        onMessage: (receive) => ws.addEventListener('message', (e) => receive(JSON.parse(String(e.data)))),
      },
);
const store = createConsoleStore(client);
// #nat, #logs, … choose the page (the tray's "Run NAT diagnosis" opens the window at #nat).
bindPageToHash(store, window);
const onOpen = () => {
  void client.call('status.get', {}).then((status) => store.setState({ status, connected: true }));
  void client.call('traffic.history', {}).then(({ samples }) => store.setState((s) => ({ samples: mergeHistory(samples, s.samples) })));
  void client.call('console.mode', {}).then((mode) => store.setState({ mode }));
  void client.call('logs.history', {}).then(({ lines }) => store.setState((s) => ({ logs: mergeLogs(lines, s.logs) })));
};
if (ws === undefined) onOpen();
ws?.addEventListener('open', () => {
  for (const m of queue.splice(0)) ws.send(m);
  onOpen();
});
ws?.addEventListener('close', () => {
  store.setState({ connected: false });
  client.fail('the console connection closed');
});

createRoot(document.getElementById('root')!).render(<App client={client} store={store} />);
