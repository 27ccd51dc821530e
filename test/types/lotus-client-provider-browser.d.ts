/** The parts of `@filecoin-shipyard/lotus-client-provider-browser` (untyped) the channel tests use. */
declare module '@filecoin-shipyard/lotus-client-provider-browser' {
  export class BrowserProvider {
    constructor(url: string, options?: { token?: string; WebSocket?: unknown });
    destroy(): Promise<void>;
  }
}
