/** The part of `@filecoin-shipyard/lotus-client-schema` (which ships no types) the tests use. */
declare module '@filecoin-shipyard/lotus-client-schema' {
  interface Schema {
    methods: Record<string, { subscription?: boolean; namespace?: string }>;
  }
  export const mainnet: { common: Schema; storageMiner: Schema; workerApi: Schema };
}
