// Deployment-wide settings (which local chain, queues and object store a process group shares):
// the local launcher scripts read and record them through here, never the store.
export { readSetting, recordSettingOnce, writeSetting } from '../store/deployment.ts';
