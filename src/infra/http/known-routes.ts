import type { NextFunction, Request, Response } from 'express';
import { OpenAPIObject } from '@nestjs/swagger';
import { AppError } from '../../common/errors/app-error';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface Templated {
  pattern: RegExp;
  methods: Set<string>;
}

/**
 * The paths otpgate serves and their methods, from its own OpenAPI document (plus the few routes
 * the document leaves out), so that a known path asked with another method answers 405 with an
 * `Allow` header (SPEC §2) rather than 404 — or, where a parameter would have taken the segment
 * (`PUT /2fa/limits/search`), rather than that route's not-found code.
 */
export class KnownRoutes {
  private readonly fixed = new Map<string, Set<string>>();
  private readonly templated: Templated[] = [];

  load(document: OpenAPIObject, undocumented: string[]): void {
    const paths: [string, Set<string>][] = Object.entries(document.paths).map(([path, item]) => [path, new Set(METHODS.filter((m) => item[m]).map((m) => m.toUpperCase()))]);
    for (const path of undocumented) paths.push([path, new Set(['GET'])]);
    for (const [path, methods] of paths) {
      if (methods.has('GET')) methods.add('HEAD');
      if (!path.includes('{')) this.fixed.set(path, methods);
      else this.templated.push({ pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`), methods });
    }
  }

  /** The methods of a known path, or undefined for a path otpgate does not serve. */
  methodsOf(path: string): Set<string> | undefined {
    const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const fixed = this.fixed.get(bare);
    if (fixed) return fixed;
    const matching = this.templated.filter((route) => route.pattern.test(bare));
    return matching.length ? new Set(matching.flatMap((route) => [...route.methods])) : undefined;
  }

  /** Express middleware: answers 405 before routing when the path is known but the method is not. */
  readonly refuseOtherMethods = (req: Request, _res: Response, next: NextFunction): void => {
    const methods = this.methodsOf(req.path);
    if (!methods || methods.has(req.method)) return next();
    next(new AppError('METHOD_NOT_ALLOWED', {}, { headers: { Allow: [...methods].join(', ') } }));
  };
}
