/** Options of `ng add ngx-oidc-session`; mirrors schema.json. */
export interface NgAddOptions {
  project?: string;
  authority?: string;
  clientId?: string;
  strategy?: 'refresh_token' | 'iframe';
  popup?: boolean;
  api?: string;
}
