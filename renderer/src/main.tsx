import { createRoot } from 'react-dom/client';
import { createClient } from '../../shared/ipc/client.js';
import { App } from './App.js';
import { createConsoleStore, mergeHistory, mergeLogs } from './store.js';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

// The page was served after the token check; the WebSocket carries the same cookie.
const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
const queue: string[] = [];
const client = createClient({
  send: (m) => (ws.readyState === WebSocket.OPEN ? ws.send(JSON.stringify(m)) : queue.push(JSON.stringify(m))),
  onMessage: (receive) => ws.addEventListener('message', (e) => receive(JSON.parse(String(e.data)))),
});
const store = createConsoleStore(client);
ws.addEventListener('open', () => {
  for (const m of queue.splice(0)) ws.send(m);
  void client.call('status.get', {}).then((status) => store.setState({ status, connected: true }));
  void client.call('traffic.history', {}).then(({ samples }) => store.setState((s) => ({ samples: mergeHistory(samples, s.samples) })));
  void client.call('console.mode', {}).then((mode) => store.setState({ mode }));
  void client.call('logs.history', {}).then(({ lines }) => store.setState((s) => ({ logs: mergeLogs(lines, s.logs) })));
});
ws.addEventListener('close', () => {
  store.setState({ connected: false });
  client.fail('the console connection closed');
});

createRoot(document.getElementById('root')!).render(<App client={client} store={store} />);
