import { session } from './session.js'

/** The signed-in user's `roost.account` (their keys on this browser). */
export const account = () => {
  const current = session.value
  if (!current) throw new Error('Not signed in')
  return current.roost.account
}
