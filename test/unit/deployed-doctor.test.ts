// `doctor --stack NAME | --function ARN`'s adapter against mocked CloudFormation and Lambda: the
// doctor function found through the stack output and invoked with the request, and each way the
// call can fail turned into a message an operator can act on.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeployedDoctorError,
  DOCTOR_FUNCTION_OUTPUT_KEY,
  DOCTOR_INVOKE_TIMEOUT_MS,
  doctorReportProblem,
  invokeDeployedDoctor,
} from '../../lambdas/adapters/deployed-doctor.ts';
import type { DoctorReport } from '../../lambdas/core/doctor/report.ts';

const STACK = 'LdapBridge-prod';
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:LdapBridge-prod-DoctorFunctionC939CB0B-AbC123';
const REPORT: DoctorReport = {
  ok: true,
  ranOn: { kind: 'deployed', functionArn: FUNCTION_ARN },
  checks: [
    { link: 'configuration', status: 'ok', summary: '14 settings read' },
    {
      link: 'tcp',
      status: 'ok',
      summary: 'ldaps://dc1.corp:636 answered',
      durationMs: 12,
      server: 'ldaps://dc1.corp:636',
    },
    { link: 'tls', status: 'warn', summary: 'expires in 20 days', fix: 'renew the certificate' },
    { link: 'jwks', status: 'skipped', summary: 'checked from the command' },
  ],
  issuer: 'https://corp.eu.auth0.com/',
  profile: { user_id: 'u1', username: 'alice', app_metadata: { dn: 'uid=alice,ou=people,dc=corp', groups: ['staff'] } },
};

const cloudFormation = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
const clients = () => ({
  cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }),
  lambda: new LambdaClient({ region: 'eu-west-1' }),
});
/** A payload as the Lambda client returns it (its blob adapter is a Uint8Array with helpers the adapter does not use). */
const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value)) as InvokeCommandOutput['Payload'];
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

function stackWithOutputs(outputs: Array<{ OutputKey: string; OutputValue: string }>) {
  cloudFormation.on(DescribeStacksCommand, { StackName: STACK }).resolves({
    Stacks: [{ StackName: STACK, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0), Outputs: outputs }],
  });
}

/** The DeployedDoctorError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DeployedDoctorError);
  return (error as Error).message;
}

afterEach(() => {
  cloudFormation.reset();
  lambda.reset();
});

describe('invokeDeployedDoctor', () => {
  it("finds the doctor through the stack's output and invokes it with the request, waiting past the function's timeout", async () => {
    stackWithOutputs([
      { OutputKey: 'LdapBridgeApiUrl2132F89E', OutputValue: 'https://x.execute-api.eu-west-1.amazonaws.com/v1' },
      { OutputKey: DOCTOR_FUNCTION_OUTPUT_KEY, OutputValue: FUNCTION_ARN },
    ]);
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(REPORT) });

    const report = await invokeDeployedDoctor({ stackName: STACK }, { user: 'alice' }, clients());

    expect(report).toEqual(REPORT);
    const [invoke] = lambda.commandCalls(InvokeCommand);
    const input = invoke!.args[0].input;
    expect(input).toMatchObject({ FunctionName: FUNCTION_ARN, InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual({ user: 'alice' });
    const options = (invoke!.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined;
    expect(options?.abortSignal).toBeInstanceOf(AbortSignal);
    expect(options?.abortSignal?.aborted).toBe(false);
    expect(DOCTOR_INVOKE_TIMEOUT_MS).toBeGreaterThan(60_000);
  });

  it('invokes a function given by ARN without reading any stack, with an empty request when no user is asked for', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(REPORT) });
    await invokeDeployedDoctor({ functionArn: FUNCTION_ARN }, {}, clients());
    expect(cloudFormation.calls()).toHaveLength(0);
    const payload = lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array;
    expect(new TextDecoder().decode(payload)).toBe('{}');
  });

  it("calls the region of the function's ARN when it builds the client itself", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(REPORT) });
    const elsewhere = FUNCTION_ARN.replace('eu-west-1', 'us-east-2');
    await invokeDeployedDoctor({ functionArn: elsewhere }, {});
    const client = lambda.call(0).thisValue as LambdaClient;
    expect(await client.config.region()).toBe('us-east-2');
  });

  it('refuses a function that is not a Lambda ARN or name before calling AWS', async () => {
    const message = await refusal(invokeDeployedDoctor({ functionArn: 'my function; rm -rf /' }, {}, clients()));
    expect(message).toContain('is not a Lambda function ARN or name');
    expect(lambda.calls()).toHaveLength(0);
  });

  it('names the stack and the region the SDK used when the stack does not exist', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', `Stack with id ${STACK} does not exist`));
    const message = await refusal(invokeDeployedDoctor({ stackName: STACK }, {}, clients()));
    expect(message).toBe(
      `stack "${STACK}" does not exist in eu-west-1 (the region the AWS SDK used): check the name, or set AWS_REGION to the stack's region`,
    );
  });

  it('says to deploy first when the stack has no doctor output', async () => {
    stackWithOutputs([{ OutputKey: 'LdapBridgeApiUrl2132F89E', OutputValue: 'https://x' }]);
    const message = await refusal(invokeDeployedDoctor({ stackName: STACK }, {}, clients()));
    expect(message).toContain(`stack "${STACK}" has no DoctorFunctionArn output`);
    expect(message).toContain('cdk deploy it first');
    expect(lambda.calls()).toHaveLength(0);
  });

  it('names cloudformation:DescribeStacks when reading the stack is denied', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(
        awsError(
          'AccessDenied',
          'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: cloudformation:DescribeStacks',
        ),
      );
    const message = await refusal(invokeDeployedDoctor({ stackName: STACK }, {}, clients()));
    expect(message).toMatch(
      /^access denied reading stack "LdapBridge-prod" in eu-west-1: the caller needs cloudformation:DescribeStacks/,
    );
    expect(message).toContain('lambda:InvokeFunction');
    expect(message).toContain('user/ops is not authorized');
  });

  it('names lambda:InvokeFunction on the function when invoking it is denied', async () => {
    stackWithOutputs([{ OutputKey: DOCTOR_FUNCTION_OUTPUT_KEY, OutputValue: FUNCTION_ARN }]);
    lambda
      .on(InvokeCommand)
      .rejects(awsError('AccessDeniedException', 'User: ops is not authorized to perform: lambda:InvokeFunction'));
    const message = await refusal(invokeDeployedDoctor({ stackName: STACK }, {}, clients()));
    expect(message).toMatch(
      new RegExp(`^access denied invoking ${FUNCTION_ARN}: the caller needs lambda:InvokeFunction on it`),
    );
  });

  it.each([
    [
      'the function does not exist',
      new ResourceNotFoundException({ message: `Function not found: ${FUNCTION_ARN}`, $metadata: {} }),
      `the doctor function ${FUNCTION_ARN} does not exist in eu-west-1`,
    ],
    [
      'another run holds its one reserved execution',
      new TooManyRequestsException({ message: 'Rate Exceeded.', $metadata: {} }),
      'is busy with another run',
    ],
    ['no answer arrives in time', awsError('AbortError', 'Request aborted'), 'did not answer within 90 s'],
    [
      'there are no credentials',
      awsError('CredentialsProviderError', 'Could not load credentials from any providers'),
      'no AWS credentials found',
    ],
    ['there is no region', new Error('Region is missing'), 'no AWS region configured: set AWS_REGION'],
  ])('says so when %s', async (_case, error, expected) => {
    lambda.on(InvokeCommand).rejects(error);
    expect(await refusal(invokeDeployedDoctor({ functionArn: FUNCTION_ARN }, {}, clients()))).toContain(expected);
  });

  it("prints the function's own error message, not its stack trace", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({
        errorType: 'DoctorEventError',
        errorMessage: 'doctor event refused: unknown field "login"; expected {"user"?: a username of 1-256 characters}',
        trace: ['DoctorEventError: doctor event refused', '    at readDoctorEvent (/var/task/index.mjs:1:2345)'],
      }),
    });
    const message = await refusal(invokeDeployedDoctor({ functionArn: FUNCTION_ARN }, {}, clients()));
    expect(message).toBe(
      `the doctor function ${FUNCTION_ARN} failed: doctor event refused: unknown field "login"; expected {"user"?: a username of 1-256 characters} (DoctorEventError)`,
    );
    expect(message).not.toContain('/var/task');
  });

  it.each([
    ['not JSON', 'Task output'],
    ['a list', [REPORT]],
    ['a local report', { ...REPORT, ranOn: { kind: 'local' } }],
    ['without checks', { ok: true, ranOn: REPORT.ranOn }],
    ['with an unknown link', { ...REPORT, checks: [{ link: 'vpn', status: 'ok', summary: 'x' }] }],
    ['with an unknown status', { ...REPORT, checks: [{ link: 'dns', status: 'great', summary: 'x' }] }],
    ['with a profile that is not an object', { ...REPORT, profile: 'alice' }],
  ])('refuses an answer that is %s', async (_case, payload) => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(payload) });
    const message = await refusal(invokeDeployedDoctor({ functionArn: FUNCTION_ARN }, {}, clients()));
    expect(message).toContain(`the function ${FUNCTION_ARN} did not answer with a doctor report (`);
  });
});

describe('doctorReportProblem', () => {
  it('accepts a deployed report and names the field of a bad one, not its value', () => {
    expect(doctorReportProblem(REPORT)).toBeUndefined();
    expect(doctorReportProblem({ ...REPORT, checks: [{ link: 'dns', status: 'ok', summary: 'x', fix: 42 }] })).toBe(
      'checks[0].fix is not text',
    );
    expect(doctorReportProblem({ ...REPORT, issuer: { secret: 'hunter2' } })).toBe('"issuer" is not text');
  });
});
