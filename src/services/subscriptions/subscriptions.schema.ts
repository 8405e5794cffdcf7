import { Type, type Static } from '@feathersjs/typebox'
import { idSchema } from '../../ids.js'
import { dataValidator } from '../../validation.js'

export const subscriptionSchema = Type.Object(
  {
    collectionId: idSchema,
    /** The collection's latest cursor when the subscription started. */
    cursor: Type.String()
  },
  { $id: 'Subscription', additionalProperties: false }
)
export type Subscription = Static<typeof subscriptionSchema>

export const subscriptionDataSchema = Type.Object(
  { collectionId: idSchema },
  { $id: 'SubscriptionData', additionalProperties: false }
)
export type SubscriptionData = Static<typeof subscriptionDataSchema>

export const subscriptionDataValidator = dataValidator(subscriptionDataSchema)
