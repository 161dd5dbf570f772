import { useState, type FormEvent } from 'react';
import { TunnelSchema, type TunnelType } from '../../shared/config/client-config.js';
import type { LocalCheck } from './types.js';

/** A tunnel as written in the config file (bandwidth "10MB" stays a string). */
export type TunnelInput = Record<string, unknown> & { name: string; type: TunnelType; local: string };

export interface FormTarget {
  /** The name of the tunnel being edited; undefined when adding. */
  original?: string;
  tunnel?: TunnelInput;
}

const str = (v: unknown, fallback = ''): string => (v === undefined || v === null ? fallback : String(v));

/**
 * Add/edit a tunnel; checked with the config file's own schema before it is sent, and what the user
 * typed is what gets written ("10MB" stays "10MB"). A tcp service that does not answer is warned
 * about before saving; "Save anyway" saves it.
 */
export function TunnelForm({ target, onSave, onCancel, check }: { target: FormTarget; onSave: (t: TunnelInput) => Promise<void>; onCancel: () => void; check: (address: string, type: TunnelType) => Promise<LocalCheck> }) {
  const t = target.tunnel;
  const [name, setName] = useState(str(t?.name));
  const [type, setType] = useState<TunnelType>(t?.type ?? 'tcp');
  const [local, setLocal] = useState(str(t?.local, '127.0.0.1:'));
  const [remotePort, setRemotePort] = useState(str(t?.remotePort, '0'));
  const [secret, setSecret] = useState(str(t?.secret));
  const [protocol, setProtocol] = useState(str(t?.protocol, 'tcp'));
  const [bandwidth, setBandwidth] = useState(str(t?.bandwidth));
  const [problem, setProblem] = useState<string | undefined>();
  const [warning, setWarning] = useState<string | undefined>();
  const [saving, setSaving] = useState(false);

  const build = (): Record<string, unknown> => {
    const keep = t ? Object.fromEntries(Object.entries(t).filter(([k]) => !['name', 'type', 'local', 'remotePort', 'secret', 'protocol', 'bandwidth'].includes(k))) : {};
    const raw: Record<string, unknown> = { ...(t?.type === type ? keep : t?.enabled === false ? { enabled: false } : {}), name, type, local };
    if (type === 'tcp' || type === 'udp') raw.remotePort = remotePort.trim() === '' ? Number.NaN : Number(remotePort);
    if (type === 'secret' || type === 'p2p') raw.secret = secret;
    if (type === 'p2p') raw.protocol = protocol;
    const bw = bandwidth.trim();
    if (bw !== '') raw.bandwidth = /^\d+$/.test(bw) ? Number(bw) : bw;
    return raw;
  };

  const save = async (anyway: boolean) => {
    const raw = build();
    const parsed = TunnelSchema.safeParse(raw);
    if (!parsed.success) {
      setProblem(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return;
    }
    setProblem(undefined);
    setSaving(true);
    try {
      if (!anyway) {
        const udp = type === 'udp' || (type === 'p2p' && protocol === 'udp');
        const r = await check(local, udp ? 'udp' : type);
        if (r.checked && !r.reachable) {
          setWarning(`Nothing answers at ${local}: ${r.error ?? 'no answer'}. The tunnel will not work until the service runs.`);
          return;
        }
      }
      setWarning(undefined);
      await onSave(raw as TunnelInput);
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setSaving(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save(false);
  };

  return (
    <form aria-label={target.original ? `Edit tunnel ${target.original}` : 'Add tunnel'} onSubmit={submit} className="form">
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        Type
        <select value={type} onChange={(e) => setType(e.target.value as TunnelType)}>
          <option value="tcp">tcp</option>
          <option value="udp">udp</option>
          <option value="secret">secret</option>
          <option value="p2p">p2p (direct when possible)</option>
        </select>
      </label>
      <label>
        Local service <input value={local} onChange={(e) => setLocal(e.target.value)} placeholder="127.0.0.1:8080" required />
      </label>
      {type === 'secret' || type === 'p2p' ? (
        <label>
          Secret <input type="password" value={secret} onChange={(e) => setSecret(e.target.value)} autoComplete="new-password" />
        </label>
      ) : (
        <label>
          Public port (0: the server picks) <input inputMode="numeric" value={remotePort} onChange={(e) => setRemotePort(e.target.value)} />
        </label>
      )}
      {type === 'p2p' && (
        <label>
          Protocol
          <select value={protocol} onChange={(e) => setProtocol(e.target.value)}>
            <option value="tcp">tcp (streams)</option>
            <option value="udp">udp (datagrams)</option>
          </select>
        </label>
      )}
      <label>
        Bandwidth limit (optional, e.g. 10MB) <input value={bandwidth} onChange={(e) => setBandwidth(e.target.value)} placeholder="no limit" />
      </label>
      {problem && <p role="alert">{problem}</p>}
      {warning && (
        <p role="alert" className="warning">
          {warning}
        </p>
      )}
      <div className="row">
        <button type="submit" disabled={saving}>
          Save tunnel
        </button>
        {warning && (
          <button type="button" onClick={() => void save(true)}>
            Save anyway
          </button>
        )}
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
