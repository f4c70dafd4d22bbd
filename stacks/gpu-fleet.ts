// GPU worker fleet: ECS on EC2 (sst.aws.Service is Fargate-only, and Fargate has no GPUs).
// Scales on jobs waiting or running per task, between GPU_SCALING's min and max; the numbers live
// in shared/core/gpu-scaling.ts, which `npm run bench:autoscale` simulates.
import { GPU_SCALING, METRIC_PERIOD_S, WORKER_CONCURRENCY } from '../shared/core/gpu-scaling.ts';
import type { Storage } from './storage.ts';
import type { Queues } from './queue.ts';

const INSTANCE_TYPE = 'g5.xlarge'; // 1× A10G 24 GB, 4 vCPU, 16 GiB
const GPU_AMI_PARAM = '/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id';
const { minTasks: MIN_TASKS, maxTasks: MAX_TASKS } = GPU_SCALING; // one task per instance (1 GPU each)

// Image tag pushed by CI from gpu-worker/ (docker build gpu-worker && docker push).
const IMAGE_TAG = process.env.GPU_WORKER_IMAGE_TAG ?? 'latest';
// The inference engine beside each worker, and the base model it serves (list the same
// id in the API's ENGINE_MODELS so callers can pick it).
const ENGINE_IMAGE = process.env.ENGINE_IMAGE ?? 'vllm/vllm-openai:latest';
const ENGINE_BASE_MODEL = process.env.ENGINE_BASE_MODEL ?? 'meta-llama/Llama-3.1-8B-Instruct';

export function gpuFleet(store: Storage, q: Queues) {
  const prefix = `${$app.name}-${$app.stage}`;
  const region = aws.getRegionOutput().region;
  const subnets = store.vpc.privateSubnets;
  const securityGroups = store.vpc.securityGroups; // egress all, ingress from VPC CIDR (reaches Aurora)

  const repo = new aws.ecr.Repository('GpuWorkerRepo', {
    forceDelete: $app.removal === 'remove',
    imageScanningConfiguration: { scanOnPush: true },
  });

  // Container Insights publishes RunningTaskCount/DesiredTaskCount used by scaling below.
  const cluster = new aws.ecs.Cluster('GpuCluster', {
    settings: [{ name: 'containerInsights', value: 'enabled' }],
  });

  // --- EC2 capacity: ASG of GPU instances, managed by an ECS capacity provider ---
  const instanceRole = new aws.iam.Role('GpuInstanceRole', {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'ec2.amazonaws.com' }),
    managedPolicyArns: [
      'arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role',
      'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore', // shell access without SSH keys
    ],
  });
  const instanceProfile = new aws.iam.InstanceProfile('GpuInstanceProfile', { role: instanceRole.name });

  const userData = $interpolate`#!/bin/bash
cat >> /etc/ecs/ecs.config <<CONF
ECS_CLUSTER=${cluster.name}
ECS_ENABLE_GPU_SUPPORT=true
ECS_AWSVPC_BLOCK_IMDS=true
ECS_IMAGE_PULL_BEHAVIOR=prefer-cached
CONF
`;
  const launchTemplate = new aws.ec2.LaunchTemplate('GpuLaunchTemplate', {
    imageId: aws.ssm.getParameterOutput({ name: GPU_AMI_PARAM }).value,
    instanceType: INSTANCE_TYPE,
    iamInstanceProfile: { arn: instanceProfile.arn },
    vpcSecurityGroupIds: securityGroups,
    userData: userData.apply((s) => Buffer.from(s).toString('base64')),
    metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 2 },
    // CUDA images + base model weights do not fit the AMI's 30 GB root volume.
    blockDeviceMappings: [
      {
        deviceName: '/dev/xvda',
        ebs: { volumeSize: 100, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' },
      },
    ],
  });

  const asg = new aws.autoscaling.Group(
    'GpuAsg',
    {
      minSize: 0,
      maxSize: MAX_TASKS,
      vpcZoneIdentifiers: subnets,
      launchTemplate: { id: launchTemplate.id, version: '$Latest' },
      protectFromScaleIn: true, // required by managedTerminationProtection: ECS picks what to stop
      tags: [{ key: 'AmazonECSManaged', value: 'true', propagateAtLaunch: true }],
    },
    { ignoreChanges: ['desiredCapacity'] },
  ); // owned by the capacity provider

  const capacityProvider = new aws.ecs.CapacityProvider('GpuCapacity', {
    autoScalingGroupProvider: {
      autoScalingGroupArn: asg.arn,
      managedTerminationProtection: 'ENABLED',
      managedDraining: 'ENABLED',
      // Instances follow tasks: 100 % = no idle spare GPU; 0 tasks → 0 instances.
      managedScaling: {
        status: 'ENABLED',
        targetCapacity: 100,
        minimumScalingStepSize: 1,
        maximumScalingStepSize: MAX_TASKS,
      },
    },
  });
  const clusterProviders = new aws.ecs.ClusterCapacityProviders('GpuClusterProviders', {
    clusterName: cluster.name,
    capacityProviders: [capacityProvider.name],
    defaultCapacityProviderStrategies: [{ capacityProvider: capacityProvider.name, weight: 1 }],
  });

  // --- Task: the gpu-worker beside an OpenAI-compatible engine (vLLM) that owns the GPU ---
  // The worker needs no database: it meets the API only through the queues and the bucket.
  const executionRole = new aws.iam.Role('GpuWorkerExecutionRole', {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'ecs-tasks.amazonaws.com' }),
    managedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy'],
  });
  const taskRole = new aws.iam.Role('GpuWorkerTaskRole', {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'ecs-tasks.amazonaws.com' }),
    inlinePolicies: [
      {
        name: 'worker',
        policy: $jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: [
                'sqs:ReceiveMessage',
                'sqs:DeleteMessage',
                'sqs:ChangeMessageVisibility',
                'sqs:GetQueueAttributes',
              ],
              Resource: [q.jobs.arn],
            },
            { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [q.results.arn] },
            {
              Effect: 'Allow',
              Action: ['s3:GetObject', 's3:PutObject'],
              Resource: [$interpolate`${store.bucket.arn}/*`],
            },
            { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [store.bucket.arn] },
            // Task scale-in protection while a job runs, so scale-in never kills mid-generation.
            {
              Effect: 'Allow',
              Action: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection'],
              Resource: [$interpolate`arn:aws:ecs:${region}:*:task/${cluster.name}/*`],
            },
          ],
        }),
      },
    ],
  });
  const logGroup = new aws.cloudwatch.LogGroup('GpuWorkerLogs', {
    name: `/citepay/${$app.stage}/gpu-worker`,
    retentionInDays: 30,
  });

  const taskDefinition = new aws.ecs.TaskDefinition('GpuWorkerTask', {
    family: `${prefix}-gpu-worker`,
    requiresCompatibilities: ['EC2'],
    networkMode: 'awsvpc',
    executionRoleArn: executionRole.arn,
    taskRoleArn: taskRole.arn,
    // Adapters downloaded by the worker are loaded by the engine from the same path.
    volumes: [{ name: 'adapter-cache' }],
    containerDefinitions: $jsonStringify([
      {
        name: 'engine',
        image: ENGINE_IMAGE,
        essential: true,
        cpu: 2048,
        memoryReservation: 10240,
        resourceRequirements: [{ type: 'GPU', value: '1' }],
        command: [
          '--model',
          ENGINE_BASE_MODEL,
          '--port',
          '8000',
          '--enable-lora',
          '--max-loras',
          '8',
          '--max-lora-rank',
          '64',
        ],
        // Lets the worker load and unload LoRA adapters at run time (/v1/load_lora_adapter).
        environment: [{ name: 'VLLM_ALLOW_RUNTIME_LORA_UPDATING', value: 'True' }],
        mountPoints: [{ sourceVolume: 'adapter-cache', containerPath: '/adapters' }],
        healthCheck: {
          command: ['CMD-SHELL', 'curl -fs http://localhost:8000/health || exit 1'],
          interval: 15,
          timeout: 5,
          retries: 3,
          startPeriod: 300,
        },
        logConfiguration: {
          logDriver: 'awslogs',
          options: { 'awslogs-group': logGroup.name, 'awslogs-region': region, 'awslogs-stream-prefix': 'engine' },
        },
      },
      {
        name: 'gpu-worker',
        image: $interpolate`${repo.repositoryUrl}:${IMAGE_TAG}`,
        essential: true,
        cpu: 1024, // g5.xlarge: 4 vCPU in all, leave headroom for the ECS agent
        memoryReservation: 3072,
        dependsOn: [{ containerName: 'engine', condition: 'HEALTHY' }],
        mountPoints: [{ sourceVolume: 'adapter-cache', containerPath: '/adapters' }],
        stopTimeout: 120, // = job visibility timeout: finish the current job on scale-in/deploy
        environment: [
          { name: 'NODE_ENV', value: 'production' },
          { name: 'AWS_REGION', value: region },
          { name: 'OBJECT_STORE', value: 's3' },
          { name: 'S3_BUCKET', value: store.bucket.name },
          { name: 'JOB_QUEUE_URL', value: q.jobs.url },
          { name: 'RESULT_QUEUE_URL', value: q.results.url },
          { name: 'GENERATOR_ENGINE_URL', value: 'http://localhost:8000' },
          { name: 'ADAPTER_CACHE_DIR', value: '/adapters' },
          { name: 'WORKER_CONCURRENCY', value: String(WORKER_CONCURRENCY) }, // the scaling target assumes it
        ],
        logConfiguration: {
          logDriver: 'awslogs',
          options: { 'awslogs-group': logGroup.name, 'awslogs-region': region, 'awslogs-stream-prefix': 'worker' },
        },
      },
    ]),
  });

  const service = new aws.ecs.Service(
    'GpuWorkerService',
    {
      cluster: cluster.arn,
      taskDefinition: taskDefinition.arn,
      desiredCount: 0, // autoscaling owns it from here (and raises it to MIN_TASKS)
      capacityProviderStrategies: [{ capacityProvider: capacityProvider.name, weight: 1 }],
      networkConfiguration: { subnets, securityGroups }, // private subnets, egress via NAT
      // Start the new task before stopping the old one: no processing gap during deploys.
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: true },
    },
    { dependsOn: [clusterProviders], ignoreChanges: ['desiredCount'] },
  );

  // --- Autoscaling on backlog per task ---
  const target = new aws.appautoscaling.Target('GpuWorkerScaling', {
    serviceNamespace: 'ecs',
    scalableDimension: 'ecs:service:DesiredCount',
    resourceId: $interpolate`service/${cluster.name}/${service.name}`,
    minCapacity: MIN_TASKS,
    maxCapacity: MAX_TASKS,
  });
  const scaling = {
    serviceNamespace: target.serviceNamespace,
    scalableDimension: target.scalableDimension,
    resourceId: target.resourceId,
  };
  const queueName = q.jobs.nodes.queue.name;
  const serviceDims = { ClusterName: cluster.name, ServiceName: service.name };

  // Target tracking on backlog ÷ running tasks (GPU_SCALING.backlog: the visible messages, or
  // those plus the ones in flight). With 0 running tasks the division yields no data and target
  // tracking does nothing, hence the wake rule below.
  const sqsMetric = (id: string, metricName: string) => ({
    id,
    returnData: false,
    metricStat: {
      stat: 'Average',
      metric: { namespace: 'AWS/SQS', metricName, dimensions: [{ name: 'QueueName', value: queueName }] },
    },
  });
  const countInFlight = GPU_SCALING.backlog === 'visible+inFlight';
  new aws.appautoscaling.Policy('GpuBacklogPerTask', {
    ...scaling,
    policyType: 'TargetTrackingScaling',
    targetTrackingScalingPolicyConfiguration: {
      targetValue: GPU_SCALING.backlogPerTaskTarget,
      scaleOutCooldown: GPU_SCALING.scaleOutCooldownS,
      scaleInCooldown: GPU_SCALING.scaleInCooldownS,
      customizedMetricSpecification: {
        metrics: [
          sqsMetric('visible', 'ApproximateNumberOfMessagesVisible'),
          ...(countInFlight ? [sqsMetric('inflight', 'ApproximateNumberOfMessagesNotVisible')] : []),
          {
            id: 'running',
            returnData: false,
            metricStat: {
              stat: 'Average',
              metric: {
                namespace: 'ECS/ContainerInsights',
                metricName: 'RunningTaskCount',
                dimensions: [
                  { name: 'ClusterName', value: cluster.name },
                  { name: 'ServiceName', value: service.name },
                ],
              },
            },
          },
          {
            id: 'backlogPerTask',
            expression: countInFlight ? '(visible + inflight) / running' : 'visible / running',
            label: countInFlight ? 'Jobs waiting or running per GPU task' : 'Jobs waiting per GPU task',
            returnData: true,
          },
        ],
      },
    },
  });

  // Scale from zero: jobs waiting while the service wants 0 tasks → add one task.
  // ChangeInCapacity (+1) rather than ExactCapacity so a stale metric can never scale in.
  const wake = new aws.appautoscaling.Policy('GpuWakeFromZero', {
    ...scaling,
    policyType: 'StepScaling',
    stepScalingPolicyConfiguration: {
      adjustmentType: 'ChangeInCapacity',
      cooldown: GPU_SCALING.wakeCooldownS,
      metricAggregationType: 'Maximum',
      stepAdjustments: [{ metricIntervalLowerBound: '0', scalingAdjustment: 1 }],
    },
  });
  new aws.cloudwatch.MetricAlarm('GpuWakeAlarm', {
    alarmDescription: 'Generation jobs are waiting and the GPU service is at zero tasks',
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
    threshold: 1,
    evaluationPeriods: 1,
    treatMissingData: 'notBreaching',
    metricQueries: [
      {
        id: 'visible',
        metric: {
          namespace: 'AWS/SQS',
          metricName: 'ApproximateNumberOfMessagesVisible',
          dimensions: { QueueName: queueName },
          period: METRIC_PERIOD_S,
          stat: 'Maximum',
        },
      },
      {
        id: 'desired',
        metric: {
          namespace: 'ECS/ContainerInsights',
          metricName: 'DesiredTaskCount',
          dimensions: serviceDims,
          period: METRIC_PERIOD_S,
          stat: 'Maximum',
        },
      },
      {
        id: 'wake',
        expression: 'IF(visible > 0 AND FILL(desired, 0) == 0, 1, 0)',
        label: 'Jobs waiting with zero GPU tasks',
        returnData: true,
      },
    ],
    alarmActions: [wake.arn],
  });

  return { repositoryUrl: repo.repositoryUrl, clusterName: cluster.name, service };
}
