import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DeviceRecord, UploadTicket } from '../../pipeline/devices';
import type { DeviceRegistry } from '../../pipeline/ports';
import { itemsOfIndexEntries } from './batchGet';
import type { DocumentClient } from './resultsStore';
import { DEVICES_PARTITION, INDEX, KEY, TTL_ATTRIBUTE } from './schema';

type Item = Record<string, unknown>;

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';

function deviceFromItem(item: Item): DeviceRecord {
  const { PK, SK, GSI2PK, GSI2SK, type, ...device } = item;
  return device as unknown as DeviceRecord;
}

function ticketFromItem(item: Item): UploadTicket {
  const { PK, SK, type, [TTL_ATTRIBUTE]: _expires, ...ticket } = item;
  return ticket as unknown as UploadTicket;
}

/**
 * The devices and their upload tickets in the results table (layout in `schema.ts`): the same code on DynamoDB and
 * on the embedded table. Device reads are consistent, so a revocation or rotation holds from the next request on.
 */
export class DynamoDeviceRegistry implements DeviceRegistry {
  /** `retentionDays`: upload tickets expire with the images they name (0: kept). */
  constructor(
    private readonly client: DocumentClient,
    readonly tableName: string,
    private readonly options: { retentionDays?: number } = {},
  ) {}

  private deviceItem(device: DeviceRecord): Item {
    return { ...KEY.device(device.name), type: 'device', ...device, GSI2PK: DEVICES_PARTITION, GSI2SK: device.name };
  }

  async addDevice(device: DeviceRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.deviceItem(device),
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async getDevice(name: string): Promise<DeviceRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.device(name), ConsistentRead: true }),
    );
    return Item ? deviceFromItem(Item) : undefined;
  }

  async listDevices(): Promise<DeviceRecord[]> {
    const devices: DeviceRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX.emotionAndPeople,
          KeyConditionExpression: 'GSI2PK = :devices',
          ExpressionAttributeValues: { ':devices': DEVICES_PARTITION },
          ExclusiveStartKey: start,
        }),
      );
      const items = await itemsOfIndexEntries(
        this.client,
        this.tableName,
        INDEX.emotionAndPeople,
        DEVICES_PARTITION,
        page.Items ?? [],
      );
      devices.push(...items.map(deviceFromItem));
      start = page.LastEvaluatedKey;
    } while (start);
    return devices;
  }

  async replaceDevice(device: DeviceRecord, expectedTokenHash: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.deviceItem(device),
          ConditionExpression: '#hash = :expected',
          ExpressionAttributeNames: { '#hash': 'tokenHash' },
          ExpressionAttributeValues: { ':expected': expectedTokenHash },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async putUploadTicket(ticket: UploadTicket): Promise<void> {
    const days = this.options.retentionDays ?? 0;
    const expires =
      days > 0 ? { [TTL_ATTRIBUTE]: Math.floor(Date.parse(ticket.createdAt) / 1000) + Math.round(days * 86_400) } : {};
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...KEY.uploadTicket(ticket.imageId), type: 'upload-ticket', ...ticket, ...expires },
      }),
    );
  }

  async getUploadTicket(imageId: string): Promise<UploadTicket | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.uploadTicket(imageId), ConsistentRead: true }),
    );
    return Item ? ticketFromItem(Item) : undefined;
  }
}
