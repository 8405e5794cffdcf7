import type { ClientApplication } from '../../client.js'
import type { Subscription, SubscriptionData } from './subscriptions.schema.js'

export type { Subscription, SubscriptionData }

export const subscriptionPath = 'subscriptions'
export const subscriptionMethods = ['find', 'create', 'remove'] as const

export const subscriptionClient = (client: ClientApplication) => {
  client.use(subscriptionPath, client.get('connection').service(subscriptionPath), { methods: [...subscriptionMethods] })
}

declare module '../../client.js' {
  interface ClientServiceTypes {
    [subscriptionPath]: {
      find(): Promise<string[]>
      create(data: SubscriptionData): Promise<Subscription>
      remove(collectionId: string): Promise<{ collectionId: string }>
    }
  }
}
