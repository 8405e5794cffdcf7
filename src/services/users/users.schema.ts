import { Type, type Static } from '@feathersjs/typebox'
import { dataValidator } from '../../validation.js'

/** A user as clients see it: never the password or its hash. */
export const userSchema = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    createdAt: Type.String()
  },
  { $id: 'User', additionalProperties: false }
)
export type User = Static<typeof userSchema>

export const userDataSchema = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 320 }),
    password: Type.String({ minLength: 8, maxLength: 1024 })
  },
  { $id: 'UserData', additionalProperties: false }
)
export type UserData = Static<typeof userDataSchema>

export const userDataValidator = dataValidator(userDataSchema)
