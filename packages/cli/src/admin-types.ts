// The admin API's response shapes, as far as the CLI's human output reads them. The CLI never
// relies on a field being present: `--json` prints the server's body as it came.

/** `POST /admin/v1/apps`, `GET /admin/v1/apps/:app`. */
export interface AppBody {
  readonly id: string;
  readonly name?: string;
  readonly platforms?: readonly string[];
  readonly clientKey?: string;
  readonly createdAt?: string;
}

/** `GET /admin/v1/apps/:app/crowds` items, `PUT /admin/v1/apps/:app/crowds/:name`. */
export interface CrowdBody {
  readonly name: string;
  readonly members?: readonly string[];
  readonly updatedAt?: string;
}

/** `POST /admin/v1/apps/:app/packages`, `GET /admin/v1/apps/:app/packages` items. */
export interface PackageBody {
  readonly id: string;
  readonly appId?: string;
  readonly module?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly platform?: string | null;
  readonly hash?: string;
  readonly contentHash?: string;
  readonly size?: number;
  readonly fileCount?: number;
  readonly url?: string;
  readonly status?: string;
  readonly disabled?: boolean;
  readonly createdAt?: string;
}

/** A release, as every `/admin/v1/releases…` route answers it. */
export interface ReleaseBody {
  readonly id: string;
  readonly appId?: string;
  readonly module?: string;
  readonly version?: string;
  readonly packageId?: string;
  readonly platform?: string | null;
  readonly stage?: string;
  readonly status?: string;
  readonly percent?: number;
  readonly whitelist?: readonly string[];
  readonly crowds?: readonly string[];
  readonly rule?: unknown;
  readonly mandatory?: boolean;
  readonly grayId?: string;
  readonly stickiness?: string;
  readonly revision?: number;
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

/** Funnel counters of a release (or one of its stages). */
export interface CountersBody {
  readonly checked?: number;
  readonly offered?: number;
  readonly downloaded?: number;
  readonly installed?: number;
  readonly failed?: number;
}

/** `GET /admin/v1/releases/:id/status`. */
export interface ReleaseStatusBody {
  readonly release: ReleaseBody;
  readonly stats?: {
    readonly total?: CountersBody;
    readonly stages?: Readonly<Record<string, CountersBody | undefined>>;
  };
}
