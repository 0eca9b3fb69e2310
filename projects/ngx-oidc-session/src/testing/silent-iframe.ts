/** Resolves with the hidden iframe of a silent request (renewal or sign-in) as soon as the library appends it. */
export function nextIframe(): Promise<HTMLIFrameElement> {
  return new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      const iframe = document.querySelector<HTMLIFrameElement>('iframe[title="silent sign-in"]');
      if (iframe) {
        observer.disconnect();
        resolve(iframe);
      }
    });
    observer.observe(document.body, { childList: true });
  });
}

/** A message to the page as the silent-renew page (or anyone else) would post it. */
export function post(data: unknown, { origin = location.origin, source }: { origin?: string; source: MessageEventSource | null }): void {
  window.dispatchEvent(new MessageEvent('message', { origin, source, data }));
}

/** Removes what a spec left of the library's hidden iframes. */
export function removeSilentIframes(): void {
  document.querySelectorAll('iframe[title="silent sign-in"]').forEach((iframe) => iframe.remove());
}
