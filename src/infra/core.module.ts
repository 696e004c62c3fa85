import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { resolveAppSecrets } from './secrets/app-secret';
import { Secrets } from './secrets/secrets';

/** Process-wide singletons every module may inject: the validated config, the clock and the secret. */
@Global()
@Module({})
export class CoreModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: Clock, useClass: SystemClock },
        { provide: Secrets, useFactory: () => new Secrets(resolveAppSecrets(config)) },
      ],
      exports: [AppConfig, Clock, Secrets],
    };
  }
}
