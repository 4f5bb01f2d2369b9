'use strict';

/**
 * How osls reaches AWS for this service, where osls has no setting for it:
 *
 * - `AWS_ENDPOINT_URL`, the variable every current AWS SDK reads for a custom endpoint, is
 *   honoured by osls's own client too (AWS SDK v2, which ignores it): when it is set, every
 *   call osls makes goes there. The deploy rehearsal points it at moto server
 *   (tests/infra/test_deploy_rehearsal.py); unset, nothing changes.
 * - `package` stays offline: osls asks CloudFormation whether the deployed layer is the same
 *   as the one just built (to skip its upload); that question belongs to `deploy`, which
 *   still asks it.
 * - `deploy function` changes a function's code, never its layer: the template names the
 *   shared layer with a `Ref`, which `UpdateFunctionConfiguration` cannot take, so the `Ref`
 *   stands for the layer version the stack attached to the deployed function (osls has just
 *   read the function's configuration). A new layer is a whole-stack deploy
 *   (scripts/deploy_plan.py), which gives every function the stack's new version. The
 *   function's role is found by its `RoleName` (infra/plugins/template-rules.js names every
 *   role).
 */
class AwsDeploy {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options || {};
    // before any hook: osls keeps the clients it makes, and some make one early
    this.useEndpoint();
    this.hooks = {
      initialize: () => this.packageOffline(),
      'before:deploy:function:deploy': () => this.keepDeployedLayers(),
    };
  }

  get provider() {
    return this.serverless.getProvider('aws');
  }

  fail(message) {
    throw new this.serverless.classes.Error(`aws-deploy: ${message}`);
  }

  useEndpoint() {
    const endpoint = process.env.AWS_ENDPOINT_URL;
    if (!endpoint) return;
    // path-style S3 addressing: a custom endpoint has no per-bucket host names
    this.provider.sdk.config.update({ endpoint, s3ForcePathStyle: true });
  }

  packageOffline() {
    if ((this.serverless.processedInput.commands || [])[0] !== 'package') return;
    const layers = this.serverless.pluginManager.plugins.find((p) => p.constructor.name === 'AwsCompileLayers');
    if (!layers) this.fail('osls no longer has AwsCompileLayers; check the offline package step');
    layers.compareWithLastLayer = async () => undefined;
  }

  keepDeployedLayers() {
    const remote = this.serverless.service.provider.remoteFunctionData;
    if (!remote) this.fail('osls no longer reads the deployed function before deploying it; check deploy function');
    const deployed = (remote.Configuration.Layers || []).map((layer) => layer.Arn);
    const keep = (layers) => (layers && layers.some((layer) => layer && typeof layer === 'object') ? deployed : layers);
    const { provider } = this.serverless.service;
    provider.layers = keep(provider.layers);
    const fn = this.serverless.service.getFunction(this.options.function);
    fn.layers = keep(fn.layers);
  }
}

module.exports = AwsDeploy;
