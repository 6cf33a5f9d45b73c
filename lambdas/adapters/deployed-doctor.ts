// Invokes the deployed doctor (the function the stack runs with the login function's
// configuration and network) for `auth0-ldap-bridge doctor --stack NAME | --function ARN`: finds
// it through the stack's DoctorFunctionArn output, invokes it with IAM (RequestResponse), checks
// that the answer is a doctor report, and turns every way this can go wrong into one message an
// operator can act on: which stack or function, which region, which IAM action is missing, what
// the function itself said (never its stack trace).
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { type CheckStatus, DOCTOR_LINKS, type DoctorReport } from '../core/doctor/report.ts';

export type DeployedDoctorTarget = { stackName: string } | { functionArn: string };

/** Why the deployed doctor could not be asked; the message is ready to show an operator. */
export class DeployedDoctorError extends Error {
  override readonly name = 'DeployedDoctorError';
}

/** The stack output naming the doctor function (DOCTOR_FUNCTION_OUTPUT_KEY of lib/constructs/doctor-function.ts). */
export const DOCTOR_FUNCTION_OUTPUT_KEY = 'DoctorFunctionArn';

/**
 * How long to wait for the doctor's answer: longer than the function's timeout (60 s,
 * DOCTOR_FUNCTION_TIMEOUT of lib/constructs/doctor-function.ts), so a slow walk ends with the
 * function's own answer, never with this client giving up first.
 */
export const DOCTOR_INVOKE_TIMEOUT_MS = 90_000;

/** Lambda's FunctionName pattern: a name, a partial ARN or a full ARN, with an optional qualifier. */
const FUNCTION_NAME =
  /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d:)?(\d{12}:)?(function:)?([\w.-]+)(:(\$LATEST|[\w-]+))?$/;
const CHECK_STATUSES: readonly CheckStatus[] = ['ok', 'warn', 'fail', 'skipped'];

/**
 * Runs the deployed doctor and returns its report (jwks and clock skipped, `issuer` set: the
 * caller walks those from this machine). `request.user` adds the profile Auth0 would receive
 * for that user. Throws DeployedDoctorError for everything but a report.
 */
export async function invokeDeployedDoctor(
  target: DeployedDoctorTarget,
  request: { user?: string },
  clients: { lambda?: LambdaClient; cloudFormation?: CloudFormationClient } = {},
): Promise<DoctorReport> {
  const functionArn =
    'stackName' in target
      ? await doctorFunctionOfStack(target.stackName, clients.cloudFormation ?? new CloudFormationClient({}))
      : checkedFunctionName(target.functionArn);
  const lambda = clients.lambda ?? new LambdaClient(regionOfArn(functionArn) ?? {});
  let output: InvokeCommandOutput;
  try {
    output = await lambda.send(
      new InvokeCommand({
        FunctionName: functionArn,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(request.user === undefined ? {} : { user: request.user })),
      }),
      { abortSignal: AbortSignal.timeout(DOCTOR_INVOKE_TIMEOUT_MS) },
    );
  } catch (error) {
    throw await invokeFailure(error, functionArn, lambda);
  }
  const payload = readJson(output.Payload);
  if (output.FunctionError) {
    const { errorType, errorMessage } = (payload ?? {}) as { errorType?: unknown; errorMessage?: unknown };
    const said = typeof errorMessage === 'string' ? shorten(errorMessage) : 'no error message';
    throw new DeployedDoctorError(
      `the doctor function ${functionArn} failed: ${said}${typeof errorType === 'string' ? ` (${errorType})` : ''}`,
    );
  }
  const problem = doctorReportProblem(payload);
  if (problem !== undefined)
    throw new DeployedDoctorError(
      `the function ${functionArn} did not answer with a doctor report (${problem}): is it the doctor function of this version of auth0-ldap-bridge? cdk deploy the stack again`,
    );
  return payload as DoctorReport;
}

async function doctorFunctionOfStack(stackName: string, cloudFormation: CloudFormationClient): Promise<string> {
  let outputs: Array<{ OutputKey?: string; OutputValue?: string }>;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    const region = await regionOf(cloudFormation);
    const aws = describeAwsError(error);
    if (aws.name === 'ValidationError' && /does not exist/i.test(aws.message))
      throw new DeployedDoctorError(
        `stack "${stackName}" does not exist in ${region} (the region the AWS SDK used): check the name, or set AWS_REGION to the stack's region`,
      );
    throw (
      commonFailure(aws, region) ??
      new DeployedDoctorError(
        aws.name === 'AccessDenied' || aws.name === 'AccessDeniedException'
          ? `access denied reading stack "${stackName}" in ${region}: the caller needs cloudformation:DescribeStacks on it (and lambda:InvokeFunction on its doctor function). AWS said: ${aws.message}`
          : `reading stack "${stackName}" in ${region} failed: ${aws.name}: ${aws.message}`,
      )
    );
  }
  const arn = outputs.find((output) => output.OutputKey === DOCTOR_FUNCTION_OUTPUT_KEY)?.OutputValue;
  if (!arn)
    throw new DeployedDoctorError(
      `stack "${stackName}" has no ${DOCTOR_FUNCTION_OUTPUT_KEY} output: it was deployed before the deployed doctor existed; cdk deploy it first with this version`,
    );
  return arn;
}

async function invokeFailure(error: unknown, functionArn: string, lambda: LambdaClient): Promise<DeployedDoctorError> {
  const region = await regionOf(lambda);
  const aws = describeAwsError(error);
  if (aws.name === 'AbortError' || aws.name === 'TimeoutError')
    return new DeployedDoctorError(
      `the doctor function ${functionArn} did not answer within ${DOCTOR_INVOKE_TIMEOUT_MS / 1000} s; its log group shows how far it got`,
    );
  const common = commonFailure(aws, region);
  if (common) return common;
  switch (aws.name) {
    case 'AccessDeniedException':
    case 'AccessDenied':
      return new DeployedDoctorError(
        `access denied invoking ${functionArn}: the caller needs lambda:InvokeFunction on it. AWS said: ${aws.message}`,
      );
    case 'ResourceNotFoundException':
      return new DeployedDoctorError(
        `the doctor function ${functionArn} does not exist in ${region} (the region the AWS SDK used): check the ARN, or cdk deploy the stack`,
      );
    case 'TooManyRequestsException':
      return new DeployedDoctorError(
        `the doctor function ${functionArn} is busy with another run (it runs one at a time); try again in a minute`,
      );
    default:
      return new DeployedDoctorError(`invoking ${functionArn} failed: ${aws.name}: ${aws.message}`);
  }
}

/** Failures of any AWS call that say nothing about the stack or the function: no credentials, no region. */
function commonFailure(aws: { name: string; message: string }, region: string): DeployedDoctorError | undefined {
  if (aws.name === 'CredentialsProviderError')
    return new DeployedDoctorError(
      `no AWS credentials found: sign in as for the AWS CLI (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). AWS SDK: ${aws.message}`,
    );
  if (/^Region is missing/i.test(aws.message))
    return new DeployedDoctorError(
      "no AWS region configured: set AWS_REGION (or a profile's region) to the stack's region",
    );
  if (/^(ExpiredToken|ExpiredTokenException|RequestExpired)$/.test(aws.name))
    return new DeployedDoctorError(
      `the AWS credentials have expired (in ${region}): renew them (aws sso login, or new session credentials)`,
    );
  return undefined;
}

function checkedFunctionName(functionArn: string): string {
  if (!FUNCTION_NAME.test(functionArn) || functionArn.length > 170)
    throw new DeployedDoctorError(
      `${JSON.stringify(functionArn.slice(0, 200))} is not a Lambda function ARN or name: expected arn:aws:lambda:REGION:ACCOUNT:function:NAME, the stack's ${DOCTOR_FUNCTION_OUTPUT_KEY} output`,
    );
  return functionArn;
}

/** A full ARN's region, so the client calls that region whatever the SDK's default. */
function regionOfArn(functionArn: string): { region: string } | undefined {
  const region = /^arn:[^:]+:lambda:([^:]+):/.exec(functionArn)?.[1];
  return region ? { region } : undefined;
}

async function regionOf(client: CloudFormationClient | LambdaClient): Promise<string> {
  try {
    return await client.config.region();
  } catch {
    return 'no region';
  }
}

function describeAwsError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: shorten(error.message) };
  return { name: 'Error', message: shorten(String(error)) };
}

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 500 ? `${oneLine.slice(0, 500)}...` : oneLine;
}

function readJson(payload: Uint8Array | undefined): unknown {
  if (payload === undefined || payload.byteLength === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return undefined;
  }
}

/** What keeps `value` from being a deployed DoctorReport, naming the field (never its value); undefined when it is one. */
export function doctorReportProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'the answer is not a JSON object';
  if (typeof value.ok !== 'boolean') return '"ok" is not true or false';
  const ranOn = value.ranOn;
  if (!isRecord(ranOn) || ranOn.kind !== 'deployed' || typeof ranOn.functionArn !== 'string')
    return '"ranOn" is not {"kind": "deployed", "functionArn": ...}';
  if (!Array.isArray(value.checks)) return '"checks" is not a list';
  for (const [index, check] of value.checks.entries()) {
    const at = `checks[${index}]`;
    if (!isRecord(check)) return `${at} is not an object`;
    if (!DOCTOR_LINKS.includes(check.link as never)) return `${at}.link is not one of ${DOCTOR_LINKS.join(', ')}`;
    if (!CHECK_STATUSES.includes(check.status as never))
      return `${at}.status is not one of ${CHECK_STATUSES.join(', ')}`;
    if (typeof check.summary !== 'string') return `${at}.summary is not text`;
    for (const field of ['fix', 'server'] as const)
      if (check[field] !== undefined && typeof check[field] !== 'string') return `${at}.${field} is not text`;
    if (check.durationMs !== undefined && typeof check.durationMs !== 'number')
      return `${at}.durationMs is not a number`;
  }
  if (value.issuer !== undefined && typeof value.issuer !== 'string') return '"issuer" is not text';
  if (value.profile !== undefined && !isRecord(value.profile)) return '"profile" is not an object';
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
