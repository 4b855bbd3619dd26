// The access token: `wright serve` prints `http://127.0.0.1:PORT/#token=TOKEN`. The fragment
// never reaches a server; we keep it for this tab in sessionStorage and take it out of the
// address bar and history at once.

const KEY = 'wright.token';

export function takeToken(): string | null {
  const hash = location.hash.startsWith('#') ? location.hash.slice(1) : location.hash;
  const params = new URLSearchParams(hash);
  const fromHash = params.get('token');
  if (fromHash !== null) {
    try {
      sessionStorage.setItem(KEY, fromHash);
    } catch {
      // Storage disabled: the token still works until the tab is reloaded.
    }
    params.delete('token');
    const rest = params.toString();
    history.replaceState(history.state, '', location.pathname + location.search + (rest ? '#' + rest : ''));
    return fromHash || null;
  }
  try {
    return sessionStorage.getItem(KEY) || null;
  } catch {
    return null;
  }
}

export function rpcUrl(token: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/rpc?token=${encodeURIComponent(token)}`;
}
