IF OBJECT_ID(N'[__EFMigrationsHistory]') IS NULL
BEGIN
    CREATE TABLE [__EFMigrationsHistory] (
        [MigrationId] nvarchar(150) NOT NULL,
        [ProductVersion] nvarchar(32) NOT NULL,
        CONSTRAINT [PK___EFMigrationsHistory] PRIMARY KEY ([MigrationId])
    );
END;
GO

BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [AspNetRoles] (
        [Id] nvarchar(450) NOT NULL,
        [Name] nvarchar(256) NULL,
        [NormalizedName] nvarchar(256) NULL,
        [ConcurrencyStamp] nvarchar(max) NULL,
        CONSTRAINT [PK_AspNetRoles] PRIMARY KEY ([Id])
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [AspNetUsers] (
        [Id] nvarchar(450) NOT NULL,
        [CreatedAt] bigint NOT NULL,
        [UserName] nvarchar(256) NULL,
        [NormalizedUserName] nvarchar(256) NULL,
        [Email] nvarchar(256) NULL,
        [NormalizedEmail] nvarchar(256) NULL,
        [EmailConfirmed] bit NOT NULL,
        [PasswordHash] nvarchar(max) NULL,
        [SecurityStamp] nvarchar(max) NULL,
        [ConcurrencyStamp] nvarchar(max) NULL,
        [PhoneNumber] nvarchar(max) NULL,
        [PhoneNumberConfirmed] bit NOT NULL,
        [TwoFactorEnabled] bit NOT NULL,
        [LockoutEnd] bigint NULL,
        [LockoutEnabled] bit NOT NULL,
        [AccessFailedCount] int NOT NULL,
        CONSTRAINT [PK_AspNetUsers] PRIMARY KEY ([Id])
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [AspNetRoleClaims] (
        [Id] int NOT NULL IDENTITY,
        [RoleId] nvarchar(450) NOT NULL,
        [ClaimType] nvarchar(max) NULL,
        [ClaimValue] nvarchar(max) NULL,
        CONSTRAINT [PK_AspNetRoleClaims] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_AspNetRoleClaims_AspNetRoles_RoleId] FOREIGN KEY ([RoleId]) REFERENCES [AspNetRoles] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [ApiTokens] (
        [Id] uniqueidentifier NOT NULL,
        [UserId] nvarchar(450) NOT NULL,
        [TokenHash] nvarchar(64) NOT NULL,
        [CreatedAt] bigint NOT NULL,
        [LastUsedAt] bigint NULL,
        CONSTRAINT [PK_ApiTokens] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_ApiTokens_AspNetUsers_UserId] FOREIGN KEY ([UserId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [AspNetUserClaims] (
        [Id] int NOT NULL IDENTITY,
        [UserId] nvarchar(450) NOT NULL,
        [ClaimType] nvarchar(max) NULL,
        [ClaimValue] nvarchar(max) NULL,
        CONSTRAINT [PK_AspNetUserClaims] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_AspNetUserClaims_AspNetUsers_UserId] FOREIGN KEY ([UserId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [AspNetUserLogins] (
        [LoginProvider] nvarchar(450) NOT NULL,
        [ProviderKey] nvarchar(450) NOT NULL,
        [ProviderDisplayName] nvarchar(max) NULL,
        [UserId] nvarchar(450) NOT NULL,
        CONSTRAINT [PK_AspNetUserLogins] PRIMARY KEY ([LoginProvider], [ProviderKey]),
        CONSTRAINT [FK_AspNetUserLogins_AspNetUsers_UserId] FOREIGN KEY ([UserId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [AspNetUserRoles] (
        [UserId] nvarchar(450) NOT NULL,
        [RoleId] nvarchar(450) NOT NULL,
        CONSTRAINT [PK_AspNetUserRoles] PRIMARY KEY ([UserId], [RoleId]),
        CONSTRAINT [FK_AspNetUserRoles_AspNetRoles_RoleId] FOREIGN KEY ([RoleId]) REFERENCES [AspNetRoles] ([Id]) ON DELETE CASCADE,
        CONSTRAINT [FK_AspNetUserRoles_AspNetUsers_UserId] FOREIGN KEY ([UserId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [AspNetUserTokens] (
        [UserId] nvarchar(450) NOT NULL,
        [LoginProvider] nvarchar(450) NOT NULL,
        [Name] nvarchar(450) NOT NULL,
        [Value] nvarchar(max) NULL,
        CONSTRAINT [PK_AspNetUserTokens] PRIMARY KEY ([UserId], [LoginProvider], [Name]),
        CONSTRAINT [FK_AspNetUserTokens_AspNetUsers_UserId] FOREIGN KEY ([UserId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [Datasets] (
        [Id] uniqueidentifier NOT NULL,
        [Name] nvarchar(200) NOT NULL,
        [OwnerId] nvarchar(450) NOT NULL,
        [CreatedAt] bigint NOT NULL,
        [CaseCount] int NOT NULL,
        [Classes] int NOT NULL,
        [Channels] int NOT NULL,
        [MinWidth] int NOT NULL,
        [MaxWidth] int NOT NULL,
        [MinHeight] int NOT NULL,
        [MaxHeight] int NOT NULL,
        [MeanForeground] float NOT NULL,
        [ContentHash] nvarchar(64) NOT NULL,
        [SizeBytes] bigint NOT NULL,
        CONSTRAINT [PK_Datasets] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_Datasets_AspNetUsers_OwnerId] FOREIGN KEY ([OwnerId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE NO ACTION
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [DatasetCases] (
        [Id] uniqueidentifier NOT NULL,
        [DatasetId] uniqueidentifier NOT NULL,
        [Name] nvarchar(400) NOT NULL,
        [ImagePath] nvarchar(1000) NOT NULL,
        [MaskPath] nvarchar(1000) NOT NULL,
        [Width] int NOT NULL,
        [Height] int NOT NULL,
        [ForegroundFraction] float NOT NULL,
        [ImageSha256] nvarchar(64) NOT NULL,
        [MaskSha256] nvarchar(64) NOT NULL,
        CONSTRAINT [PK_DatasetCases] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_DatasetCases_Datasets_DatasetId] FOREIGN KEY ([DatasetId]) REFERENCES [Datasets] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [Experiments] (
        [Id] uniqueidentifier NOT NULL,
        [Name] nvarchar(200) NOT NULL,
        [OwnerId] nvarchar(450) NOT NULL,
        [DatasetId] uniqueidentifier NOT NULL,
        [Model] nvarchar(64) NOT NULL,
        [Epochs] int NOT NULL,
        [BatchSize] int NOT NULL,
        [ImageSize] int NOT NULL,
        [LearningRate] float NOT NULL,
        [Seed] int NOT NULL,
        [ConfigJson] nvarchar(max) NOT NULL,
        [Status] nvarchar(20) NOT NULL,
        [CurrentEpoch] int NOT NULL,
        [BestDice] float NULL,
        [BestEpoch] int NULL,
        [Error] nvarchar(max) NULL,
        [JobId] nvarchar(100) NULL,
        [RunnerId] nvarchar(200) NULL,
        [HeartbeatAt] bigint NULL,
        [CreatedAt] bigint NOT NULL,
        [StartedAt] bigint NULL,
        [FinishedAt] bigint NULL,
        CONSTRAINT [PK_Experiments] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_Experiments_AspNetUsers_OwnerId] FOREIGN KEY ([OwnerId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE NO ACTION,
        CONSTRAINT [FK_Experiments_Datasets_DatasetId] FOREIGN KEY ([DatasetId]) REFERENCES [Datasets] ([Id]) ON DELETE NO ACTION
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [EpochMetrics] (
        [Id] bigint NOT NULL IDENTITY,
        [ExperimentId] uniqueidentifier NOT NULL,
        [Epoch] int NOT NULL,
        [TrainLoss] float NOT NULL,
        [ValidationLoss] float NOT NULL,
        [ValidationDice] float NOT NULL,
        [ValidationIoU] float NOT NULL,
        [LearningRate] float NOT NULL,
        [Seconds] float NOT NULL,
        [At] bigint NOT NULL,
        CONSTRAINT [PK_EpochMetrics] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_EpochMetrics_Experiments_ExperimentId] FOREIGN KEY ([ExperimentId]) REFERENCES [Experiments] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE TABLE [ExperimentCases] (
        [Id] uniqueidentifier NOT NULL,
        [ExperimentId] uniqueidentifier NOT NULL,
        [DatasetCaseId] uniqueidentifier NOT NULL,
        [Split] nvarchar(20) NOT NULL,
        [IsPreview] bit NOT NULL,
        [Dice] float NULL,
        [IoU] float NULL,
        [Precision] float NULL,
        [Recall] float NULL,
        [PredictionPath] nvarchar(1000) NULL,
        CONSTRAINT [PK_ExperimentCases] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_ExperimentCases_DatasetCases_DatasetCaseId] FOREIGN KEY ([DatasetCaseId]) REFERENCES [DatasetCases] ([Id]) ON DELETE NO ACTION,
        CONSTRAINT [FK_ExperimentCases_Experiments_ExperimentId] FOREIGN KEY ([ExperimentId]) REFERENCES [Experiments] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE UNIQUE INDEX [IX_ApiTokens_TokenHash] ON [ApiTokens] ([TokenHash]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_ApiTokens_UserId] ON [ApiTokens] ([UserId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_AspNetRoleClaims_RoleId] ON [AspNetRoleClaims] ([RoleId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    EXEC(N'CREATE UNIQUE INDEX [RoleNameIndex] ON [AspNetRoles] ([NormalizedName]) WHERE [NormalizedName] IS NOT NULL');
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_AspNetUserClaims_UserId] ON [AspNetUserClaims] ([UserId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_AspNetUserLogins_UserId] ON [AspNetUserLogins] ([UserId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_AspNetUserRoles_RoleId] ON [AspNetUserRoles] ([RoleId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [EmailIndex] ON [AspNetUsers] ([NormalizedEmail]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    EXEC(N'CREATE UNIQUE INDEX [UserNameIndex] ON [AspNetUsers] ([NormalizedUserName]) WHERE [NormalizedUserName] IS NOT NULL');
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE UNIQUE INDEX [IX_DatasetCases_DatasetId_Name] ON [DatasetCases] ([DatasetId], [Name]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_Datasets_OwnerId] ON [Datasets] ([OwnerId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE UNIQUE INDEX [IX_EpochMetrics_ExperimentId_Epoch] ON [EpochMetrics] ([ExperimentId], [Epoch]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_ExperimentCases_DatasetCaseId] ON [ExperimentCases] ([DatasetCaseId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE UNIQUE INDEX [IX_ExperimentCases_ExperimentId_DatasetCaseId] ON [ExperimentCases] ([ExperimentId], [DatasetCaseId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_Experiments_DatasetId] ON [Experiments] ([DatasetId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_Experiments_OwnerId] ON [Experiments] ([OwnerId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    CREATE INDEX [IX_Experiments_Status] ON [Experiments] ([Status]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261128212840_Initial'
)
BEGIN
    INSERT INTO [__EFMigrationsHistory] ([MigrationId], [ProductVersion])
    VALUES (N'20261128212840_Initial', N'10.0.15');
END;

COMMIT;
GO

BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261201214504_ChildRestarts'
)
BEGIN
    ALTER TABLE [Experiments] ADD [Restarts] int NOT NULL DEFAULT 0;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261201214504_ChildRestarts'
)
BEGIN
    INSERT INTO [__EFMigrationsHistory] ([MigrationId], [ProductVersion])
    VALUES (N'20261201214504_ChildRestarts', N'10.0.15');
END;

COMMIT;
GO

BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    ALTER TABLE [AspNetUsers] ADD [Disabled] bit NOT NULL DEFAULT CAST(0 AS bit);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    ALTER TABLE [AspNetUsers] ADD [DisplayName] nvarchar(100) NOT NULL DEFAULT N'';
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    ALTER TABLE [AspNetUsers] ADD [JobQuota] int NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    ALTER TABLE [AspNetUsers] ADD [StorageQuotaBytes] bigint NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    ALTER TABLE [ApiTokens] ADD [ExpiresAt] bigint NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    ALTER TABLE [ApiTokens] ADD [Name] nvarchar(100) NOT NULL DEFAULT N'token';
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    CREATE TABLE [AuditLog] (
        [Id] bigint NOT NULL IDENTITY,
        [At] bigint NOT NULL,
        [ActorId] nvarchar(450) NULL,
        [ActorName] nvarchar(256) NOT NULL,
        [Action] nvarchar(64) NOT NULL,
        [TargetKind] nvarchar(32) NULL,
        [TargetId] nvarchar(100) NULL,
        [Detail] nvarchar(1000) NULL,
        [IpAddress] nvarchar(64) NULL,
        [Succeeded] bit NOT NULL,
        CONSTRAINT [PK_AuditLog] PRIMARY KEY ([Id])
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    CREATE TABLE [Shares] (
        [Id] uniqueidentifier NOT NULL,
        [Kind] nvarchar(20) NOT NULL,
        [ResourceId] uniqueidentifier NOT NULL,
        [UserId] nvarchar(450) NULL,
        [SharedById] nvarchar(450) NOT NULL,
        [CreatedAt] bigint NOT NULL,
        CONSTRAINT [PK_Shares] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_Shares_AspNetUsers_UserId] FOREIGN KEY ([UserId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    CREATE INDEX [IX_AuditLog_Action] ON [AuditLog] ([Action]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    CREATE INDEX [IX_AuditLog_ActorId] ON [AuditLog] ([ActorId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    CREATE INDEX [IX_AuditLog_At] ON [AuditLog] ([At]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    EXEC(N'CREATE UNIQUE INDEX [IX_Shares_Kind_ResourceId_UserId] ON [Shares] ([Kind], [ResourceId], [UserId]) WHERE [UserId] IS NOT NULL');
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    CREATE INDEX [IX_Shares_UserId] ON [Shares] ([UserId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202003834_MultiUser'
)
BEGIN
    INSERT INTO [__EFMigrationsHistory] ([MigrationId], [ProductVersion])
    VALUES (N'20261202003834_MultiUser', N'10.0.15');
END;

COMMIT;
GO

BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    DROP INDEX [IX_DatasetCases_DatasetId_Name] ON [DatasetCases];
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [Experiments] ADD [DatasetVersion] int NOT NULL DEFAULT 0;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [Experiments] ADD [Fold] int NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [Experiments] ADD [SplitId] uniqueidentifier NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [ExperimentCases] ADD [ClassDiceJson] nvarchar(max) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [EpochMetrics] ADD [ClassDiceJson] nvarchar(max) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [EpochMetrics] ADD [VolumeDiceJson] nvarchar(max) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [Datasets] ADD [ClassMapJson] nvarchar(max) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [Datasets] ADD [Source] nvarchar(20) NOT NULL DEFAULT N'';
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [Datasets] ADD [SourceJson] nvarchar(max) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [Datasets] ADD [Version] int NOT NULL DEFAULT 0;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [DatasetCases] ADD [AddedInVersion] int NOT NULL DEFAULT 0;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [DatasetCases] ADD [GroupKey] nvarchar(400) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [DatasetCases] ADD [LabelsPresent] int NOT NULL DEFAULT 0;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [DatasetCases] ADD [RemovedInVersion] int NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [DatasetCases] ADD [SliceIndex] int NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [DatasetCases] ADD [SpacingX] float NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    ALTER TABLE [DatasetCases] ADD [SpacingY] float NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    CREATE TABLE [DatasetVersions] (
        [Id] uniqueidentifier NOT NULL,
        [DatasetId] uniqueidentifier NOT NULL,
        [Number] int NOT NULL,
        [ContentHash] nvarchar(64) NOT NULL,
        [CaseCount] int NOT NULL,
        [Note] nvarchar(1000) NOT NULL,
        [CreatedById] nvarchar(450) NOT NULL,
        [CreatedAt] bigint NOT NULL,
        [FingerprintJson] nvarchar(max) NULL,
        CONSTRAINT [PK_DatasetVersions] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_DatasetVersions_Datasets_DatasetId] FOREIGN KEY ([DatasetId]) REFERENCES [Datasets] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    CREATE TABLE [SavedSplits] (
        [Id] uniqueidentifier NOT NULL,
        [DatasetId] uniqueidentifier NOT NULL,
        [Version] int NOT NULL,
        [Name] nvarchar(200) NOT NULL,
        [Kind] nvarchar(20) NOT NULL,
        [Seed] int NOT NULL,
        [ValidationFraction] float NOT NULL,
        [Folds] int NOT NULL,
        [GroupPattern] nvarchar(400) NULL,
        [TestFraction] float NOT NULL,
        [AssignmentJson] nvarchar(max) NOT NULL,
        [Groups] int NOT NULL,
        [CreatedById] nvarchar(450) NOT NULL,
        [CreatedAt] bigint NOT NULL,
        CONSTRAINT [PK_SavedSplits] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_SavedSplits_Datasets_DatasetId] FOREIGN KEY ([DatasetId]) REFERENCES [Datasets] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    CREATE INDEX [IX_DatasetCases_DatasetId_Name] ON [DatasetCases] ([DatasetId], [Name]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    CREATE UNIQUE INDEX [IX_DatasetVersions_DatasetId_Number] ON [DatasetVersions] ([DatasetId], [Number]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    CREATE INDEX [IX_SavedSplits_DatasetId] ON [SavedSplits] ([DatasetId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    UPDATE Datasets SET Version = 1, Source = 'images'
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    UPDATE DatasetCases SET AddedInVersion = 1, LabelsPresent = CASE WHEN ForegroundFraction > 0 THEN 3 ELSE 1 END
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    UPDATE Experiments SET DatasetVersion = 1
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    INSERT INTO DatasetVersions (Id, DatasetId, Number, ContentHash, CaseCount, Note, CreatedById, CreatedAt) SELECT Id, Id, 1, ContentHash, CaseCount, 'first upload', OwnerId, CreatedAt FROM Datasets
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202043833_DatasetVersions'
)
BEGIN
    INSERT INTO [__EFMigrationsHistory] ([MigrationId], [ProductVersion])
    VALUES (N'20261202043833_DatasetVersions', N'10.0.15');
END;

COMMIT;
GO

BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    ALTER TABLE [Experiments] ADD [GroupId] uniqueidentifier NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    ALTER TABLE [Experiments] ADD [QueuedAt] bigint NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    ALTER TABLE [Experiments] ADD [Variant] nvarchar(64) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    ALTER TABLE [AspNetUsers] ADD [WebhookSecret] nvarchar(200) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    ALTER TABLE [AspNetUsers] ADD [WebhookUrl] nvarchar(2000) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE TABLE [ExperimentGroups] (
        [Id] uniqueidentifier NOT NULL,
        [Name] nvarchar(200) NOT NULL,
        [OwnerId] nvarchar(450) NOT NULL,
        [DatasetId] uniqueidentifier NOT NULL,
        [Kind] nvarchar(20) NOT NULL,
        [SplitId] uniqueidentifier NULL,
        [BaseJson] nvarchar(max) NOT NULL,
        [CreatedAt] bigint NOT NULL,
        CONSTRAINT [PK_ExperimentGroups] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_ExperimentGroups_AspNetUsers_OwnerId] FOREIGN KEY ([OwnerId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE NO ACTION
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE TABLE [Notifications] (
        [Id] uniqueidentifier NOT NULL,
        [UserId] nvarchar(450) NOT NULL,
        [ExperimentId] uniqueidentifier NULL,
        [Kind] nvarchar(20) NOT NULL,
        [Title] nvarchar(300) NOT NULL,
        [Message] nvarchar(4000) NOT NULL,
        [Link] nvarchar(400) NOT NULL,
        [CreatedAt] bigint NOT NULL,
        [ReadAt] bigint NULL,
        CONSTRAINT [PK_Notifications] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_Notifications_AspNetUsers_UserId] FOREIGN KEY ([UserId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE TABLE [WebhookDeliveries] (
        [Id] uniqueidentifier NOT NULL,
        [UserId] nvarchar(450) NOT NULL,
        [NotificationId] uniqueidentifier NULL,
        [Url] nvarchar(2000) NOT NULL,
        [PayloadJson] nvarchar(max) NOT NULL,
        [Attempts] int NOT NULL,
        [Status] nvarchar(20) NOT NULL,
        [LastError] nvarchar(2000) NULL,
        [CreatedAt] bigint NOT NULL,
        [NextAttemptAt] bigint NOT NULL,
        [DeliveredAt] bigint NULL,
        CONSTRAINT [PK_WebhookDeliveries] PRIMARY KEY ([Id]),
        CONSTRAINT [FK_WebhookDeliveries_AspNetUsers_UserId] FOREIGN KEY ([UserId]) REFERENCES [AspNetUsers] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE TABLE [WeightsFiles] (
        [Id] uniqueidentifier NOT NULL,
        [Name] nvarchar(200) NOT NULL,
        [FileName] nvarchar(400) NOT NULL,
        [StoredPath] nvarchar(400) NOT NULL,
        [Format] nvarchar(20) NOT NULL,
        [SizeBytes] bigint NOT NULL,
        [Sha256] nvarchar(64) NOT NULL,
        [FitsJson] nvarchar(max) NOT NULL,
        [UploadedById] nvarchar(450) NOT NULL,
        [CreatedAt] bigint NOT NULL,
        CONSTRAINT [PK_WeightsFiles] PRIMARY KEY ([Id])
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE INDEX [IX_Experiments_GroupId] ON [Experiments] ([GroupId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE INDEX [IX_ExperimentGroups_OwnerId] ON [ExperimentGroups] ([OwnerId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE INDEX [IX_Notifications_UserId_CreatedAt] ON [Notifications] ([UserId], [CreatedAt]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE INDEX [IX_WebhookDeliveries_Status_NextAttemptAt] ON [WebhookDeliveries] ([Status], [NextAttemptAt]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE INDEX [IX_WebhookDeliveries_UserId] ON [WebhookDeliveries] ([UserId]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    CREATE INDEX [IX_WeightsFiles_Sha256] ON [WeightsFiles] ([Sha256]);
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261202074830_ExperimentsOne'
)
BEGIN
    INSERT INTO [__EFMigrationsHistory] ([MigrationId], [ProductVersion])
    VALUES (N'20261202074830_ExperimentsOne', N'10.0.15');
END;

COMMIT;
GO

BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084018_ReviewSurfaceMetrics'
)
BEGIN
    ALTER TABLE [ExperimentCases] ADD [Assd] float NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084018_ReviewSurfaceMetrics'
)
BEGIN
    ALTER TABLE [ExperimentCases] ADD [AssdMm] float NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084018_ReviewSurfaceMetrics'
)
BEGIN
    ALTER TABLE [ExperimentCases] ADD [ClassMetricsJson] nvarchar(max) NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084018_ReviewSurfaceMetrics'
)
BEGIN
    ALTER TABLE [ExperimentCases] ADD [FalseNegatives] bigint NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084018_ReviewSurfaceMetrics'
)
BEGIN
    ALTER TABLE [ExperimentCases] ADD [FalsePositives] bigint NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084018_ReviewSurfaceMetrics'
)
BEGIN
    ALTER TABLE [ExperimentCases] ADD [Hd95] float NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084018_ReviewSurfaceMetrics'
)
BEGIN
    ALTER TABLE [ExperimentCases] ADD [Hd95Mm] float NULL;
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084018_ReviewSurfaceMetrics'
)
BEGIN
    INSERT INTO [__EFMigrationsHistory] ([MigrationId], [ProductVersion])
    VALUES (N'20261203084018_ReviewSurfaceMetrics', N'10.0.15');
END;

COMMIT;
GO

BEGIN TRANSACTION;
IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084755_Leaderboards'
)
BEGIN
    CREATE TABLE [ExperimentProfiles] (
        [ExperimentId] uniqueidentifier NOT NULL,
        [Parameters] bigint NULL,
        [Macs] bigint NULL,
        [ImageSize] int NOT NULL,
        [LatencyMs] float NULL,
        [Device] nvarchar(40) NULL,
        [Hd95] float NULL,
        [PeakMemoryBytes] bigint NULL,
        [Error] nvarchar(2000) NULL,
        [MeasuredAt] bigint NOT NULL,
        CONSTRAINT [PK_ExperimentProfiles] PRIMARY KEY ([ExperimentId]),
        CONSTRAINT [FK_ExperimentProfiles_Experiments_ExperimentId] FOREIGN KEY ([ExperimentId]) REFERENCES [Experiments] ([Id]) ON DELETE CASCADE
    );
END;

IF NOT EXISTS (
    SELECT * FROM [__EFMigrationsHistory]
    WHERE [MigrationId] = N'20261203084755_Leaderboards'
)
BEGIN
    INSERT INTO [__EFMigrationsHistory] ([MigrationId], [ProductVersion])
    VALUES (N'20261203084755_Leaderboards', N'10.0.15');
END;

COMMIT;
GO

