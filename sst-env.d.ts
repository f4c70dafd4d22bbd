/* Hand-written to match what `sst dev` / `sst deploy` generate for this app, so the
   infra type-check runs offline. Regenerated (and overwritten) by SST on deploy. */
/* tslint:disable */
/* eslint-disable */
/* deno-fmt-ignore-file */
/* biome-ignore-all lint: auto-generated */

import 'sst';
declare module 'sst' {
  export interface Resource {
    AdminBootstrapKey: {
      type: 'sst.sst.Secret';
      value: string;
    };
    Api: {
      name: string;
      type: 'sst.aws.Function';
      url: string;
    };
    Database: {
      clusterArn: string;
      database: string;
      host: string;
      password: string;
      port: number;
      reader: string;
      secretArn: string;
      type: 'sst.aws.Aurora';
      username: string;
    };
    Edge: {
      type: 'sst.cloudflare.Worker';
      url: string;
    };
    EdgeDatabase: {
      id: string;
      type: 'sst.cloudflare.Hyperdrive';
    };
    EdgeEmbedderKey: {
      type: 'sst.sst.Secret';
      value: string;
    };
    GenerationJobs: {
      type: 'sst.aws.Queue';
      url: string;
    };
    GenerationJobsDlq: {
      type: 'sst.aws.Queue';
      url: string;
    };
    GenerationResults: {
      type: 'sst.aws.Queue';
      url: string;
    };
    GenerationResultsDlq: {
      type: 'sst.aws.Queue';
      url: string;
    };
    HyperdriveAccessSecret: {
      type: 'sst.sst.Secret';
      value: string;
    };
    PineconeApiKey: {
      type: 'sst.sst.Secret';
      value: string;
    };
    SettlerPrivateKey: {
      type: 'sst.sst.Secret';
      value: string;
    };
    Store: {
      name: string;
      type: 'sst.aws.Bucket';
    };
    Vpc: {
      bastion: string;
      type: 'sst.aws.Vpc';
    };
  }
}

export {};
