import { useState, type FormEvent } from 'react';
import { TunnelSchema, type TunnelConfig } from '../../shared/config/client-config.js';

export interface FormTarget {
  /** The name of the tunnel being edited; undefined when adding. */
  original?: string;
  tunnel?: TunnelConfig;
}

/** Add/edit a tunnel; checked with the config file's own schema before it is sent. */
export function TunnelForm({ target, onSave, onCancel }: { target: FormTarget; onSave: (t: TunnelConfig) => Promise<void>; onCancel: () => void }) {
  const t = target.tunnel;
  const [name, setName] = useState(t?.name ?? '');
  const [type, setType] = useState<TunnelConfig['type']>(t?.type ?? 'tcp');
  const [local, setLocal] = useState(t?.local ?? '127.0.0.1:');
  const [remotePort, setRemotePort] = useState(t && (t.type === 'tcp' || t.type === 'udp') ? String(t.remotePort) : '0');
  const [secret, setSecret] = useState(t?.type === 'secret' || t?.type === 'p2p' ? t.secret : '');
  const [problem, setProblem] = useState<string | undefined>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const raw = type === 'secret' || type === 'p2p' ? { name, type, local, secret } : { name, type, local, remotePort: Number(remotePort) };
    const parsed = TunnelSchema.safeParse(raw);
    if (!parsed.success) {
      setProblem(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return;
    }
    try {
      await onSave({ ...parsed.data, ...(t?.enabled === false ? { enabled: false } : {}) } as TunnelConfig);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };

  return (
    <form aria-label={target.original ? `Edit tunnel ${target.original}` : 'Add tunnel'} onSubmit={(e) => void submit(e)} className="form">
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        Type
        <select value={type} onChange={(e) => setType(e.target.value as TunnelConfig['type'])}>
          <option value="tcp">tcp</option>
          <option value="udp">udp</option>
          <option value="secret">secret</option>
        </select>
      </label>
      <label>
        Local service <input value={local} onChange={(e) => setLocal(e.target.value)} placeholder="127.0.0.1:8080" required />
      </label>
      {type === 'secret' ? (
        <label>
          Secret <input type="password" value={secret} onChange={(e) => setSecret(e.target.value)} />
        </label>
      ) : (
        <label>
          Public port (0: the server picks) <input inputMode="numeric" value={remotePort} onChange={(e) => setRemotePort(e.target.value)} />
        </label>
      )}
      {problem && <p role="alert">{problem}</p>}
      <div className="row">
        <button type="submit">Save tunnel</button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
