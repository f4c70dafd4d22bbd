import { ConfigError, loadConfig } from '../../shared/config.ts';
import { bootstrapOnce, type BootstrapKeys } from '../../shared/services/bootstrap.ts';
import { createServices, openChain, openDatabase, openJobQueue } from '../../shared/services/create.ts';
import { migrate } from '../../shared/db/migrate.ts';
import { createApp } from '../api/app.ts';
import { serveApi } from './node-server.ts';
import { createSqsClient, createSqsQueue } from '../../shared/job-queue/sqs.ts';
import { startResultsConsumer } from '../queue/results-consumer.ts';
import { listenPg } from '../../shared/db/pg.ts';
import { listenForAnswers } from '../../shared/services/answer-hub.ts';
import { provideLocalServices, withRecordedQueues } from './shared-services.ts';
import { followPeer, movedChainConfig } from './follow-peer.ts';
import { switchable } from './switchable.ts';
import { superviseWorker } from './worker-process.ts';
import { createLogger } from '../../shared/logger.ts';
import { startSettlementSchedule } from '../../shared/services/settlement-runner.ts';
import { startChainReconciler } from '../../shared/services/chain-repair.ts';
import { startWebhookWorker } from '../../shared/services/webhooks.ts';
import { reembedToDefaultModel, resumeReembedJobs } from '../../shared/services/reembed.ts';
import { assertPortFree, PortInUse, portMessage } from './port-check.ts';
import { startLocalPayments, type LocalPayments } from './payments.ts';
import { startSettleRetry } from '../../shared/services/x402-settle-retry.ts';
import { startChannelClaims } from '../../shared/services/x402-channels.ts';
import { startTopUpWatcher } from '../../shared/services/top-ups.ts';

// `npm start`: the whole system on one machine with embedded defaults.
// Composition root for the local process.
async function main() {
  let config = loadConfig();
  const log = createLogger(config.logLevel);
  await assertPortFree(config.host, config.port);
  const db = await openDatabase(config);
  await migrate(db);
  // No queue or chain configured: run an SQS-compatible server and an OP-Stack-mode anvil with the
  // contracts deployed, as the cloud's stand-ins — or join those of another process on this database.
  const local = await provideLocalServices(config, db, log);
  config = local.config;
  // x402: a facilitator (local, or X402_FACILITATOR_URL) and on the local chain a funded agent wallet
  const x402AsConfigured = config.x402;
  let payments = await startLocalPayments(config, db, log);
  config = payments.config;
  // A joiner's queue and chain clients are switchable: when its peer comes back elsewhere it moves to
  // the services the database then records (follow-peer.ts) instead of staying stranded.
  const jobs = local.following.queues ? switchable((await openJobQueue(config))!) : null;
  const chain = local.following.chain ? switchable((await openChain(config, db))!) : null;
  const services = await createServices(config, {
    db,
    log,
    ...(jobs ? { jobQueue: jobs.port } : {}),
    ...(chain ? { chain: chain.port } : {}),
  });
  const keys = await bootstrapOnce(services);
  await resumeReembedJobs(services);
  await reembedToDefaultModel(services);
  const resultsQueue = config.startResultsConsumer
    ? switchable(createSqsQueue(createSqsClient(config.queue), config.queue.resultsUrl!))
    : null;
  const results = resultsQueue ? startResultsConsumer(services, resultsQueue.port) : null;
  // On a shared PostgreSQL server another process may apply an answer's events: hear its NOTIFYs.
  const listener = config.databaseUrl
    ? listenForAnswers(services.answerHub, (channel, handlers) =>
        listenPg(config.databaseUrl!, channel, {
          ...handlers,
          onError: (err) =>
            services.log.warn('answer listener lost its connection; reconnecting', { error: err.message }),
        }),
      )
    : null;
  const worker = config.startWorker ? superviseWorker(config, services.log) : null;
  const follower = followPeer({
    db,
    log: services.log,
    following: local.following,
    async moveQueues(recorded) {
      services.config = { ...services.config, queue: withRecordedQueues(services.config, recorded).queue };
      const { queue } = services.config;
      jobs?.use((await openJobQueue(services.config))!);
      resultsQueue?.use(createSqsQueue(createSqsClient(queue), queue.resultsUrl!));
      await worker?.reconfigure(services.config);
    },
    async moveChain(recorded) {
      services.config = { ...services.config, chain: movedChainConfig(services.config, recorded).chain };
      chain?.use((await openChain(services.config, db))!);
      // This process's own x402 facilitator talks to the chain: restarted on its port (its URL is in use).
      const facilitatorUrl = payments.config.x402.facilitatorUrl;
      if (!x402AsConfigured.facilitatorUrl && facilitatorUrl) {
        await payments.stop();
        const facilitatorPort = Number(new URL(facilitatorUrl).port);
        payments = await startLocalPayments(
          { ...services.config, x402: { ...x402AsConfigured, facilitatorPort } },
          db,
          services.log,
        );
      }
    },
  });
  const settlement =
    config.settlement.intervalSeconds > 0 ? startSettlementSchedule(services, config.settlement.intervalSeconds) : null;
  // At start and on a schedule: the chain still holds every confirmed epoch and relayed claim (re-sent if not).
  const reconciler = services.chain
    ? startChainReconciler({ db: services.db, chain: services.chain, log: services.log }, config.chain.reconcileSeconds)
    : null;
  // x402 payments whose settle failed after a successful call: settled later, exactly once.
  const settleRetry = startSettleRetry(services, config.x402.settleRetrySeconds);
  // x402 batch-settlement: the vouchers taken since the last pass, claimed on chain in one transaction
  const channelClaims = startChannelClaims(services, config.x402.claimSeconds);
  // Self-serve top-ups: stablecoin sent to the treasury from a consumer's wallet, credited once confirmed.
  const topUps = startTopUpWatcher(services, config.selfServe.topUpPollSeconds);
  // Signed webhooks from the outbox (on AWS: functions/webhooks/deliver.ts on a schedule).
  const webhooks = startWebhookWorker(services);
  const app = createApp(services);
  const server = serveApi(app.fetch, { port: config.port, hostname: config.host }, (info) => {
    const url = `http://${['::1', '127.0.0.1', '0.0.0.0', '::'].includes(info.address) ? 'localhost' : info.address}:${info.port}`;
    // No PUBLIC_URL: the origin is this listen address (known only now with PORT=0). Wallet sign-in
    // and the dashboard's Origin check use it; a browser on another name must be given PUBLIC_URL.
    if (!services.config.publicUrl) services.config = { ...services.config, publicUrl: url };
    services.log.info('citepay listening', {
      url,
      publicUrl: services.config.publicUrl,
      docs: `${url}/docs`,
      dashboard: `${url}/dashboard`,
      dataDir: config.dataDir,
      database: services.db.kind,
    });
    if (keys) printKeysOnce(keys, url);
    if (payments.agent) printAgentWallet(payments.agent);
  });
  // Taken between the check above and now (a race): say so in one line, and never lose the keys.
  server.once('error', (err: NodeJS.ErrnoException) => {
    if (keys) printKeysOnce(keys, `http://${config.host}:${config.port}`);
    process.stderr.write(`${portMessage(config.host, config.port, err)}\n`);
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    services.log.info('shutting down', { signal });
    server.close(async () => {
      await follower.stop();
      await worker?.stop();
      await results?.stop();
      await listener?.close();
      await settlement?.stop();
      await payments.stop();
      await reconciler?.stop();
      await settleRetry.stop();
      await channelClaims.stop();
      await topUps.stop();
      await webhooks.stop();
      await local.stop();
      await services.db.close();
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Written to the terminal once, on first start; never logged again (only hashes are stored). */
function printKeysOnce(keys: BootstrapKeys, url: string) {
  const lines = [
    '',
    '  citepay is initialised. These keys are shown ONCE — store them now:',
    '',
    keys.adminKeyGenerated
      ? `    admin key          ${keys.adminKey}`
      : '    admin key          (from CITEPAY_ADMIN_KEY)',
    `    demo consumer key  ${keys.demoConsumerKey}`,
    '',
    `  Try: curl -s ${url}/healthz    API reference: ${url}/docs    Dashboard: ${url}/dashboard`,
    '  Lost the admin key? Make another with: npm run admin-key',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The demo agent's wallet: anvil's public development account 6, funded with test dollars on the local chain only. */
function printAgentWallet(agent: NonNullable<LocalPayments['agent']>) {
  process.stdout.write(
    `  x402 demo agent wallet  ${agent.address}  (PUBLIC dev key ${agent.privateKey}: local chain only)\n`,
  );
}

main().catch((err) => {
  process.stderr.write(
    `${err instanceof ConfigError || err instanceof PortInUse ? err.message : err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
