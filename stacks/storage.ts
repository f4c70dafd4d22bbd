// Durable state: object store, Postgres (+pgvector), secrets, and the VPC they live in.
// Resource definitions only: stacks/ imports no runtime code (ARCHITECTURE.md).

export type VectorIndexKind = 'pgvector' | 'pinecone';

export function storage() {
  const production = $app.stage === 'production';

  // One VPC for Aurora, the Lambdas that reach it, and the GPU fleet. Private subnets
  // need NAT for Pinecone, the L2 RPC, ECR pulls, S3 and SQS. A NAT instance ("ec2",
  // t4g.nano) keeps dev stages cheap; production pays for highly available managed NAT.
  const vpc = new sst.aws.Vpc('Vpc', { nat: production ? 'managed' : 'ec2' });

  // Raw documents, LoRA adapters and generation results; key prefixes are the runtime's.
  const bucket = new sst.aws.Bucket('Store');

  // Aurora Serverless v2 Postgres 17 ships pgvector 0.8 (HNSW), the default VectorIndex.
  // Dev stages scale to 0 ACU and pause when idle; production keeps a warm floor so
  // API calls never wait ~15 s for a resume.
  const database = new sst.aws.Aurora('Database', {
    engine: 'postgres',
    version: '17',
    vpc,
    scaling: production ? { min: '0.5 ACU', max: '16 ACU' } : { min: '0 ACU', max: '4 ACU', pauseAfter: '20 minutes' },
  });

  // SST generates an alphanumeric password (special: false), so no URL-encoding is needed.
  // Aurora PG 17 forces TLS; the RDS CA is not in Node's trust store, and node-pg treats
  // sslmode=require as verify-full, so use no-verify (traffic never leaves the VPC).
  // To verify instead: bundle the RDS CA bundle and switch to verify-full + sslrootcert.
  const databaseUrl = $interpolate`postgres://${database.username}:${database.password}@${database.host}:${database.port}/${database.database}?sslmode=no-verify`;

  // Chosen at deploy time (`VECTOR_INDEX=pinecone sst deploy`); pgvector needs no extra service.
  const vectorIndex = (process.env.VECTOR_INDEX ?? 'pgvector') as VectorIndexKind;
  if (vectorIndex !== 'pgvector' && vectorIndex !== 'pinecone') {
    throw new Error(`VECTOR_INDEX must be "pgvector" or "pinecone", got "${vectorIndex}"`);
  }
  // Pinecone: the index is created once in the Pinecone console (cosine, the embedder's dimension);
  // the runtime talks to its data-plane host only, so no control-plane call happens on a cold start.
  const pineconeIndexHost = process.env.PINECONE_INDEX_HOST ?? '';
  if (vectorIndex === 'pinecone' && !pineconeIndexHost) {
    throw new Error(
      'VECTOR_INDEX=pinecone: set PINECONE_INDEX_HOST to the index host (<index>-<project>.svc.<region>.pinecone.io, as the console shows it) and `sst secret set PineconeApiKey …`',
    );
  }

  // `sst secret set <Name> <value> --stage <stage>`. Settlement and admin keys have no
  // placeholder: a deploy without them fails loudly instead of running without them.
  // The Pinecone key has a placeholder only while pgvector is the index.
  const secrets = {
    settlerPrivateKey: new sst.Secret('SettlerPrivateKey'),
    pineconeApiKey:
      vectorIndex === 'pinecone'
        ? new sst.Secret('PineconeApiKey')
        : new sst.Secret('PineconeApiKey', 'unused-with-pgvector'),
    adminBootstrapKey: new sst.Secret('AdminBootstrapKey'),
  };

  return { vpc, bucket, database, databaseUrl, vectorIndex, pineconeIndexHost, secrets };
}

export type Storage = ReturnType<typeof storage>;
