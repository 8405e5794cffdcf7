import { fanoutWorkload } from './w4-fanout.js'

/**
 * W4 with a crowd: many subscribers of one collection and a slow writer, so
 * that the cost is in delivering each event to every socket, and the
 * writer's own latency shows whether that delivery starves its writes.
 */
export const w4kCrowdFanout = fanoutWorkload({
  id: 'W4k',
  title: 'Realtime fan-out to a crowd',
  intro: 'W4 with a thousand listeners: ',
  audience: (settings) => ({ subscribers: settings.crowdSubscribers, rate: settings.crowdRate })
})
