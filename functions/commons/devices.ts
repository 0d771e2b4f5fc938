import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeviceRegistry } from '../../lib/adapters/dynamodb/deviceRegistry';
import { OPTIONS, optionFromEnv } from '../../lib/options';

/**
 * The device registry alone, for the authoriser: its own small DynamoDB client and nothing of the vision core, so the
 * authoriser's bundle stays small and its cold start short. The api function uses the same registry.
 */
const table = optionFromEnv(OPTIONS.table, process.env) ?? '';
const retentionDays = optionFromEnv(OPTIONS.retentionDays, process.env) ?? OPTIONS.retentionDays.default;

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export const devices = new DynamoDeviceRegistry(documents, table, { retentionDays });

/** The registry's SDK client, for instrumentation (as `awsClients` in context.ts). */
export const deviceClients = { DynamoDB: documents };
