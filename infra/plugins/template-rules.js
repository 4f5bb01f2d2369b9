'use strict';

/**
 * Stack rules that osls has no setting for, applied to every function, role, table and queue
 * so that a feature's infra file cannot forget them (tests/infra checks the result):
 *
 * - function packages never carry bytecode caches (function-level patterns re-include
 *   whatever the service-level ones exclude, so the exclusion must be appended last);
 * - every function runs under its own role, `<FunctionKey>Role` (e.g. `BookingApiRole`)
 *   unless it names another with `role:`, defined in infra/iam/<feature>.yml with only its
 *   data statements; this adds the Lambda trust policy, log writing scoped to the
 *   function's own log group, X-Ray, and the role's name, `<service>-<stage>-<key>`
 *   (`osls deploy function` finds a function's role by that name; IAM names are per
 *   account, so a stage's name must be unique in the account across regions);
 * - a function does not also `DependsOn` the role it `GetAtt`s (osls adds both);
 * - DynamoDB tables get deletion protection and a retain policy where the stage asks for it;
 * - the API stage gets throttling (osls only offers throttling on usage plans, which apply
 *   to API-key clients alone);
 * - EventBridge Scheduler schedules assume one role that may invoke the scheduled functions
 *   and nothing else (osls would otherwise hand the scheduler the function's own role);
 * - alarms on every function's error rate and throttles and every dead-letter queue's depth,
 *   and the stage's e-mail subscription to the alarm topic when it has one.
 *
 * Settings come from `custom.template` in serverless.yml.
 */
class TemplateRules {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      initialize: () => {
        this.excludeBytecode();
        this.assignRoles();
      },
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.finishTemplate(),
    };
  }

  get naming() {
    return this.serverless.getProvider('aws').naming;
  }

  excludeBytecode() {
    for (const key of this.serverless.service.getAllFunctions()) {
      const fn = this.serverless.service.getFunction(key);
      fn.package = fn.package || {};
      fn.package.patterns = [...(fn.package.patterns || []), '!**/__pycache__/**', '!**/*.py[co]'];
    }
  }

  assignRoles() {
    // named here, in the service's own resources, where `osls deploy function` looks
    const declared = ((this.serverless.service.resources || {}).Resources) || {};
    for (const key of this.serverless.service.getAllFunctions()) {
      const fn = this.serverless.service.getFunction(key);
      if (!fn.role) fn.role = `${this.naming.getNormalizedFunctionName(key)}Role`;
      const role = typeof fn.role === 'string' ? declared[fn.role] : null;
      if (role && role.Type === 'AWS::IAM::Role') {
        role.Properties = { ...(role.Properties || {}), RoleName: this.roleName(key) };
      }
    }
  }

  finishTemplate() {
    const settings = (this.serverless.service.custom || {}).template || {};
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    this.completeRoles(resources);
    this.dropRedundantDependencies(resources);
    this.protectTables(resources, settings.deletionProtection);
    this.throttleStage(resources, settings.throttle || {});
    this.routeSchedules(resources);
    this.addAlarms(resources, settings.alarms || {});
  }

  fail(message) {
    throw new this.serverless.classes.Error(`template-rules: ${message}`);
  }

  completeRoles(resources) {
    const owners = {};
    for (const key of this.serverless.service.getAllFunctions()) {
      const fn = this.serverless.service.getFunction(key);
      const roleId = typeof fn.role === 'string' ? fn.role : null;
      if (!roleId || !resources[roleId] || resources[roleId].Type !== 'AWS::IAM::Role') {
        this.fail(`function ${key} needs its role ${roleId} (AWS::IAM::Role) in infra/iam`);
      }
      if (owners[roleId]) this.fail(`functions ${owners[roleId]} and ${key} share the role ${roleId}`);
      owners[roleId] = key;
      const props = resources[roleId].Properties || (resources[roleId].Properties = {});
      props.AssumeRolePolicyDocument = {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      };
      const logGroupId = this.naming.getLogGroupLogicalId(key);
      props.Policies = [
        {
          PolicyName: 'runtime',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'OwnLogGroup',
                Effect: 'Allow',
                Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
              },
              {
                // X-Ray has no resource-level permissions.
                Sid: 'Tracing',
                Effect: 'Allow',
                Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
                Resource: '*',
              },
            ],
          },
        },
        ...(props.Policies || []),
      ];
    }
  }

  dropRedundantDependencies(resources) {
    // osls adds `DependsOn: <role>` to a function that already `GetAtt`s that role, and
    // `DependsOn: <authorizer>` to a method that already `Ref`s it as its AuthorizerId; the
    // reference is the dependency (cfn-lint W3005, and moto's template validation refuses it)
    for (const resource of Object.values(resources)) {
      if (!resource.DependsOn) continue;
      let referenced = null;
      if (resource.Type === 'AWS::Lambda::Function') {
        referenced = ((resource.Properties.Role || {})['Fn::GetAtt'] || [])[0];
      } else if (resource.Type === 'AWS::ApiGateway::Method') {
        referenced = (resource.Properties.AuthorizerId || {}).Ref;
      }
      if (!referenced) continue;
      const depends = [].concat(resource.DependsOn).filter((id) => id !== referenced);
      if (depends.length) resource.DependsOn = depends;
      else delete resource.DependsOn;
    }
  }

  roleName(key) {
    const { service } = this.serverless.service;
    const name = `${service}-${this.serverless.getProvider('aws').getStage()}-${key}`;
    if (name.length > 64) this.fail(`role name ${name} is longer than IAM's 64 characters; shorten the stage name`);
    return name;
  }

  protectTables(resources, protection) {
    const on = protection === true || protection === 'true';
    for (const resource of Object.values(resources)) {
      if (resource.Type !== 'AWS::DynamoDB::Table') continue;
      resource.Properties.DeletionProtectionEnabled = on;
      if (on) {
        resource.DeletionPolicy = 'Retain';
        resource.UpdateReplacePolicy = 'Retain';
      }
    }
  }

  throttleStage(resources, throttle) {
    const deployments = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Deployment');
    for (const [deploymentId, deployment] of deployments) {
      const limits = {
        ThrottlingRateLimit: Number(throttle.rateLimit),
        ThrottlingBurstLimit: Number(throttle.burstLimit),
      };
      deployment.Properties.StageDescription = {
        ...limits,
        MethodSettings: [{ ResourcePath: '/*', HttpMethod: '*', ...limits }],
      };
      // A web ACL can only be attached once the stage exists.
      for (const resource of Object.values(resources)) {
        if (resource.Type === 'AWS::WAFv2::WebACLAssociation') {
          resource.DependsOn = [...new Set([...[].concat(resource.DependsOn || []), deploymentId])];
        }
      }
    }
  }

  routeSchedules(resources) {
    const schedules = Object.values(resources).filter((r) => r.Type === 'AWS::Scheduler::Schedule');
    if (!schedules.length) return;
    const targets = [];
    for (const schedule of schedules) {
      const arn = schedule.Properties.Target.Arn;
      if (!targets.some((t) => JSON.stringify(t) === JSON.stringify(arn))) targets.push(arn);
      schedule.Properties.Target.RoleArn = { 'Fn::GetAtt': ['SchedulerInvokeRole', 'Arn'] };
    }
    resources.SchedulerInvokeRole = {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'scheduler.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'invoke-scheduled-functions',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: targets }],
            },
          },
        ],
      },
    };
  }

  addAlarms(resources, alarms) {
    if (!alarms.topic) return;
    if (alarms.email) {
      resources.AlarmEmailSubscription = {
        Type: 'AWS::SNS::Subscription',
        Properties: { TopicArn: { Ref: alarms.topic }, Protocol: 'email', Endpoint: alarms.email },
      };
    }
    const actions = { AlarmActions: [{ Ref: alarms.topic }], OKActions: [{ Ref: alarms.topic }] };
    const lambdaMetric = (fnId, name) => ({
      Metric: { Namespace: 'AWS/Lambda', MetricName: name, Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }] },
      Period: 300,
      Stat: 'Sum',
    });
    for (const key of this.serverless.service.getAllFunctions()) {
      const fnId = this.naming.getLambdaLogicalId(key);
      const base = this.naming.getNormalizedFunctionName(key);
      resources[`${base}ErrorRateAlarm`] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmDescription: `${key}: more than ${alarms.errorRatePercent}% of invocations failed in 5 minutes`,
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: Number(alarms.errorRatePercent),
          EvaluationPeriods: 1,
          TreatMissingData: 'notBreaching',
          Metrics: [
            { Id: 'errors', MetricStat: lambdaMetric(fnId, 'Errors'), ReturnData: false },
            { Id: 'invocations', MetricStat: lambdaMetric(fnId, 'Invocations'), ReturnData: false },
            {
              Id: 'rate',
              Label: 'error rate (%)',
              Expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
              ReturnData: true,
            },
          ],
          ...actions,
        },
      };
      resources[`${base}ThrottlesAlarm`] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmDescription: `${key}: invocations were throttled`,
          Namespace: 'AWS/Lambda',
          MetricName: 'Throttles',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
          Statistic: 'Sum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
          ...actions,
        },
      };
    }
    const deadLetterIds = new Set();
    for (const resource of Object.values(resources)) {
      const target = resource.Type === 'AWS::SQS::Queue' && resource.Properties.RedrivePolicy
        ? resource.Properties.RedrivePolicy.deadLetterTargetArn
        : null;
      if (target && target['Fn::GetAtt']) deadLetterIds.add(target['Fn::GetAtt'][0]);
    }
    for (const queueId of deadLetterIds) {
      resources[`${queueId}DepthAlarm`] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmDescription: `${queueId}: messages are waiting in a dead-letter queue`,
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
          Statistic: 'Maximum',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
          ...actions,
        },
      };
    }
  }
}

module.exports = TemplateRules;
