/** What went wrong, in words a person can act on; announced at once to screen readers. */
export function ErrorText(props: { error: unknown; id?: string }) {
  if (props.error === null || props.error === undefined) return null
  return (
    <p class="error" role="alert" id={props.id}>
      {messageOf(props.error)}
    </p>
  )
}

export function messageOf(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') {
    const code = 'code' in error && typeof error.code === 'number' ? error.code : null
    if (code === 0) return 'The server cannot be reached. Check the connection and try again.'
    return error.message
  }
  return String(error)
}
