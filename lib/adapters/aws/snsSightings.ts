import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { SightingsTopic } from '../../pipeline/ports';
import type { Sighting } from '../../pipeline/sightings';

/**
 * The sightings on an SNS topic: one message per photo fully analysed, the sighting as JSON, with message attributes
 * subscribers can filter on without reading the body (`device`, `known`: whether an enrolled person was seen, and
 * `people`: their ids). The function environment names the topic (a literal name, so `osls invoke local` needs no AWS);
 * the ARN is completed with the account from STS GetCallerIdentity, once per container (no permission needed).
 */
export class SnsSightingsTopic implements SightingsTopic {
  private arn: Promise<string> | undefined;

  constructor(
    private readonly sns: SNSClient,
    private readonly sts: STSClient,
    private readonly topic: string,
    private readonly region: () => Promise<string>,
  ) {}

  private topicArn(): Promise<string> {
    if (this.topic.startsWith('arn:')) return Promise.resolve(this.topic);
    this.arn ??= (async () => {
      const { Account, Arn } = await this.sts.send(new GetCallerIdentityCommand({}));
      const partition = Arn?.split(':')[1] ?? 'aws';
      return `arn:${partition}:sns:${await this.region()}:${Account}:${this.topic}`;
    })();
    this.arn.catch(() => {
      this.arn = undefined;
    });
    return this.arn;
  }

  async publish(sighting: Sighting): Promise<void> {
    const people = sighting.faces.flatMap((f) => (f.person ? [f.person.personId] : []));
    await this.sns.send(
      new PublishCommand({
        TopicArn: await this.topicArn(),
        Subject: 'facepipe sighting',
        Message: JSON.stringify(sighting),
        MessageAttributes: {
          device: { DataType: 'String', StringValue: sighting.device ?? '-' },
          known: { DataType: 'String', StringValue: people.length > 0 ? 'true' : 'false' },
          ...(people.length > 0
            ? { people: { DataType: 'String.Array', StringValue: JSON.stringify([...new Set(people)]) } }
            : {}),
        },
      }),
    );
  }
}
