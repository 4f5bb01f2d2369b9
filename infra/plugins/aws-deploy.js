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
 * - `deploy function` runs with the shared layer the stack last deployed: the template names
 *   it with a `Ref`, which `UpdateFunctionConfiguration` cannot take, so the layer's version
 *   ARN is read from the stack's outputs (`<Layer>LambdaLayerQualifiedArn`). The function's
 *   role is found by its `RoleName` (infra/plugins/template-rules.js gives every role one).
 */
class AwsDeploy {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      initialize: () => {
        this.useEndpoint();
        this.packageOffline();
      },
      'before:deploy:function:deploy': () => this.resolveLayers(),
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

  async resolveLayers() {
    const stackName = this.provider.naming.getStackName();
    const described = await this.provider.request('CloudFormation', 'describeStacks', { StackName: stackName });
    const outputs = Object.fromEntries(
      (described.Stacks[0].Outputs || []).map((o) => [o.OutputKey, o.OutputValue])
    );
    const versions = {};
    for (const name of Object.keys(this.serverless.service.layers || {})) {
      versions[this.provider.naming.getLambdaLayerLogicalId(name)] =
        outputs[this.provider.naming.getLambdaLayerOutputLogicalId(name)];
    }
    const resolve = (layers) => layers && layers.map((layer) => {
      if (!layer || typeof layer !== 'object') return layer;
      const version = layer.Ref && versions[layer.Ref];
      if (!version) this.fail(`stack ${stackName} has no deployed version of ${JSON.stringify(layer)}; deploy the stack first`);
      return version;
    });
    const { provider } = this.serverless.service;
    provider.layers = resolve(provider.layers);
    for (const key of this.serverless.service.getAllFunctions()) {
      const fn = this.serverless.service.getFunction(key);
      fn.layers = resolve(fn.layers);
    }
  }
}

module.exports = AwsDeploy;
