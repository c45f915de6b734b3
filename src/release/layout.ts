import { join } from 'node:path';

/** Paths of one app on one host (DESIGN §3). */
export class AppLayout {
  constructor(readonly root: string) {}
  get releases() {
    return join(this.root, 'releases');
  }
  get shared() {
    return join(this.root, 'shared');
  }
  get current() {
    return join(this.root, 'current');
  }
  get state() {
    return join(this.root, '.deploy_state');
  }
  get lock() {
    return join(this.state, 'deploy.lock');
  }
  get journal() {
    return join(this.state, 'journal.json');
  }
  get lastDeploy() {
    return join(this.state, 'last_deploy.json');
  }
  get rollbackPoint() {
    return join(this.state, 'rollback_point');
  }
  get preRollbackRelease() {
    return join(this.state, 'pre_rollback_release');
  }
  get history() {
    return join(this.state, 'history.jsonl');
  }
  /** the canary in progress: stage, weights, last verdicts (written by the deploy, read by status/promote/abort) */
  get canaryStatus() {
    return join(this.state, 'canary.json');
  }
  /** `deployer promote|abort` ask the deploy in progress through files in this directory */
  get canaryCommands() {
    return join(this.state, 'canary_commands');
  }
  /** where the machine driving a fleet deploy uploads a release before the deploy installs it */
  incoming(release: string) {
    return join(this.state, 'incoming', release);
  }
  get logs() {
    return join(this.state, 'logs');
  }
  /** scratch space on the same filesystem as releases/ (archives, clones before they move in) */
  get tmp() {
    return join(this.state, 'tmp');
  }
  /** blue-green: the link naming the release a slot runs (blue, green) */
  slot(name: string) {
    return join(this.root, name);
  }
  /** blue-green: the link naming the slot that takes traffic */
  get active() {
    return join(this.root, 'active');
  }
  release(id: string) {
    return join(this.releases, id);
  }
  /** the symlink target written into `current`: relative, so app_root can move */
  currentTarget(id: string) {
    return join('releases', id);
  }
}
